"""Run Triton locally from the nvidia-pytriton wheel (no Docker); reused by the bench."""

from photodup.triton.distribution import TritonLaunchError
from photodup.triton.repository import RepositoryModel, inspect_repository
from photodup.triton.server import LocalTriton, TritonPorts

__all__ = [
    "LocalTriton",
    "RepositoryModel",
    "TritonLaunchError",
    "TritonPorts",
    "inspect_repository",
]
