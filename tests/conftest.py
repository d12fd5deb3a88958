"""Shared pytest fixtures live in tests/fixtures/, one module per real component they start."""

pytest_plugins = [
    "fixtures.photos",
    "fixtures.models",
    "fixtures.service",
    "fixtures.triton",
]
