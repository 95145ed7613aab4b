#!/usr/bin/env python3
"""Make the tiny MLX models the tests, the example service and the demo use.

Everything is made here with MLX from a fixed seed (random weights); nothing is downloaded.

  classifier/   an MLP classifier: layers.N.weight / layers.N.bias, saved as .safetensors,
                .npz and .gguf (the three formats the mlxc shim loads)
  tiny-lm/      a 2-layer llama-style language model in mlx_lm layout: config.json,
                model.safetensors, tokenizer.json + tokenizer_config.json (a byte-level BPE
                trained here, offline, on a few sentences), which `mlx_lm.server --model` serves
  unsafe/       a pickle file (a .pkl, and a .safetensors name over pickle bytes) for the
                policy-denial demo; it is never loaded, only sniffed and refused

Usage: make_models.py OUTDIR [--big MiB]   (--big writes big/model.safetensors for the load bench)
"""

import argparse
import json
import os
import pickle
import sys

import mlx.core as mx

SEED = 20260101

# The classifier: 16 inputs, two hidden layers, 4 classes.
CLASSIFIER_DIMS = [16, 64, 32, 4]


def write_atomic(path, write):
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def make_classifier(out):
    os.makedirs(out, exist_ok=True)
    mx.random.seed(SEED)
    weights = {}
    for i, (din, dout) in enumerate(zip(CLASSIFIER_DIMS, CLASSIFIER_DIMS[1:])):
        scale = (2.0 / din) ** 0.5
        weights[f"layers.{i}.weight"] = mx.random.normal((dout, din)) * scale
        weights[f"layers.{i}.bias"] = mx.random.normal((dout,)) * 0.01
    mx.eval(weights)
    # The file name must end in the format's suffix for MLX's writers; write to a temp name in the
    # same directory that keeps the suffix, then rename.
    for ext, save in (
        ("safetensors", lambda p: mx.save_safetensors(p, weights, metadata={"format": "mlx"})),
        ("npz", lambda p: mx.savez(p, **weights)),
        ("gguf", lambda p: mx.save_gguf(p, weights)),
    ):
        final = os.path.join(out, f"classifier.{ext}")
        tmp = os.path.join(out, f".tmp-classifier.{ext}")
        save(tmp)
        os.replace(tmp, final)
    # A reference output so tests can check the Go/C++ forward pass against MLX's own.
    x = mx.arange(CLASSIFIER_DIMS[0], dtype=mx.float32) / CLASSIFIER_DIMS[0] - 0.5
    h = x
    n = len(CLASSIFIER_DIMS) - 1
    for i in range(n):
        h = h @ weights[f"layers.{i}.weight"].T + weights[f"layers.{i}.bias"]
        if i < n - 1:
            h = mx.maximum(h, 0)
    probs = mx.softmax(h, axis=-1)
    ref = {"input": x.tolist(), "probs": probs.tolist(), "dims": CLASSIFIER_DIMS}
    write_atomic(os.path.join(out, "reference.json"), lambda p: open(p, "w").write(json.dumps(ref)))


CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "security logging and monitoring of machine learning workloads",
    "a model was loaded from a local path and its digest was checked",
    "open telemetry traces metrics and logs for every inference",
    "hello world, how are you today? I am a tiny language model.",
    "user: what is the capital of france? assistant: paris.",
]


def make_tokenizer(out):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.save(os.path.join(out, "tokenizer.json"))
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|im_end|>",
        "bos_token": None,
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "model_max_length": 512,
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}, f, indent=1)
    return tok.get_vocab_size(), tok.token_to_id("<|im_end|>")


def make_lm(out):
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    os.makedirs(out, exist_ok=True)
    vocab, eos = make_tokenizer(out)
    config = {
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "max_position_embeddings": 512,
        "eos_token_id": eos,
    }
    mx.random.seed(SEED + 1)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(weights)
    tmp = os.path.join(out, ".tmp-model.safetensors")
    mx.save_safetensors(tmp, weights, metadata={"format": "mlx"})
    os.replace(tmp, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    # Reference outputs of mlx_lm's own llama for the in-process forward pass of the mlxc shim:
    # the last-position logits of a prompt and a greedy continuation (full forward per step).
    from tokenizers import Tokenizer

    prompt = Tokenizer.from_file(os.path.join(out, "tokenizer.json")).encode("hello world, how are you").ids
    logits = model(mx.array([prompt]))[0, -1]
    seq = list(prompt)
    for _ in range(8):
        seq.append(int(mx.argmax(model(mx.array([seq]))[0, -1]).item()))
    ref = {"prompt": prompt, "last_logits": logits.tolist(), "greedy": seq[len(prompt):]}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f)


class _Payload:
    # What a malicious pickle would do on load; this one is never unpickled (the policy refuses it).
    def __reduce__(self):
        return (print, ("this pickle would have run code",))


def make_unsafe(out):
    os.makedirs(out, exist_ok=True)
    data = pickle.dumps({"layers.0.weight": _Payload()}, protocol=4)
    with open(os.path.join(out, "model.pkl"), "wb") as f:
        f.write(data)
    # The same bytes under a .safetensors name: the format is sniffed from content, not the name.
    with open(os.path.join(out, "disguised.safetensors"), "wb") as f:
        f.write(data)


def make_big(out, mib):
    """A model of at least `mib` MiB for the load benchmark: float32 matrices of 1024x1024 (4 MiB)."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.safetensors")
    n = (mib + 3) // 4
    if os.path.exists(path) and os.path.getsize(path) >= mib << 20:
        return
    mx.random.seed(SEED + 2)
    weights = {f"layers.{i}.weight": mx.random.normal((1024, 1024)) for i in range(n)}
    mx.eval(weights)
    tmp = os.path.join(out, ".tmp-model.safetensors")
    mx.save_safetensors(tmp, weights)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--big", type=int, default=0, help="also write big/model.safetensors of at least this many MiB")
    ap.add_argument("--only-big", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.outdir)
    if not args.only_big:
        make_classifier(os.path.join(out, "classifier"))
        make_lm(os.path.join(out, "tiny-lm"))
        make_unsafe(os.path.join(out, "unsafe"))
    if args.big:
        make_big(os.path.join(out, "big"), args.big)
    print(f"models written under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
