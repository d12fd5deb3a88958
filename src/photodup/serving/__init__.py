"""The PyTorch embedding service (``photodup serve``), in layers you can see from the tree.

``routes`` (HTTP transport) -> ``embedding`` (decoding, the tensor contract) and ``engine``
(model lifecycle) -> ``batching`` (worker thread, bounded queue, micro-batching) ->
``runtime`` (the torch module; the only module that imports torch).
"""

from photodup.serving.app import create_app

__all__ = ["create_app"]
