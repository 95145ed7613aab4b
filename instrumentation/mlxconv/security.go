package mlxconv

// Security hardening of the load path (issue 10).

// FormatDetailPolyglot starts mlx.model.format.detail (after the file name) for a file that is
// valid in a weight format (safetensors, GGUF, .npy, .npz) and a pickle stream at once: loaded
// as weights it looks harmless, loaded with pickle it runs code. Such a file is pickle, unsafe,
// and refused whatever grade of pickle a policy admits.
const FormatDetailPolyglot = "polyglot"
