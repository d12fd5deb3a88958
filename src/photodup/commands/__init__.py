"""One module per ``photodup`` subcommand; each exposes ``register(app)``.

Command modules import heavy libraries (torch, onnxruntime, tritonclient) inside the
command function, so ``photodup --help`` stays fast.
"""
