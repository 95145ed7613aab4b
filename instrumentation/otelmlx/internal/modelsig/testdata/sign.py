"""Signs a model with the model-signing package (OpenSSF Model Signing v1.0), with an elliptic
curve private key. Usage: sign.py MODEL KEY.pem SIGNATURE files|shards [SHARD_SIZE]
The signature file is always ignored (it may sit inside the model directory)."""
import os
import sys

import model_signing

model, key, sig, method = sys.argv[1:5]
hc = model_signing.hashing.Config()
if method == "shards":
    hc = hc.use_shard_serialization(shard_size=int(sys.argv[5]))
else:
    hc = hc.use_file_serialization()
hc = hc.set_ignored_paths(paths=[os.path.abspath(sig)], ignore_git_paths=True)
model_signing.signing.Config().set_hashing_config(hc).use_elliptic_key_signer(private_key=key).sign(model, sig)
