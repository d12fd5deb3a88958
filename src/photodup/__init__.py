"""photodup: a near-duplicate photo finder with OpenCLIP embeddings served by PyTorch or Triton."""

__version__ = "0.1.0"
