"""What ``photodup export`` was asked to do, validated before any slow work starts."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from photodup import contract

TritonBackend = Literal["onnxruntime", "python"]
InstanceKind = Literal["gpu", "cpu"]
TRITON_BACKENDS: tuple[str, ...] = ("onnxruntime", "python")
INSTANCE_KINDS: tuple[str, ...] = ("gpu", "cpu")


class ExportError(RuntimeError):
    """The export cannot go ahead or failed its checks; the message says what to change."""


@dataclass(frozen=True)
class ExportOptions:
    model_name: str = contract.MODEL_ARCH
    pretrained: str = contract.DEFAULT_PRETRAINED
    checkpoint: Path | None = None
    seed: int = contract.DEFAULT_SEED
    output: Path = Path("model_repository")
    triton_backend: TritonBackend = "onnxruntime"
    instance_kind: InstanceKind = "gpu"
    max_batch_size: int = contract.MAX_BATCH_SIZE
    fp16: bool = False
    tensorrt: bool = False
    force: bool = False
    new_version: bool = False
    opset: int = contract.ONNX_OPSET

    def validate(self, *, cuda_available: bool) -> None:
        """Raise :class:`ExportError` for combinations that cannot work."""
        if self.triton_backend not in TRITON_BACKENDS:
            raise ExportError(
                f"unknown --triton-backend {self.triton_backend!r}; choose one of {TRITON_BACKENDS}"
            )
        if self.instance_kind not in INSTANCE_KINDS:
            raise ExportError(
                f"unknown --instance-kind {self.instance_kind!r}; choose one of {INSTANCE_KINDS}"
            )
        if not 1 <= self.max_batch_size <= contract.MAX_BATCH_SIZE:
            raise ExportError(
                f"--max-batch-size must be between 1 and {contract.MAX_BATCH_SIZE}, "
                f"got {self.max_batch_size}"
            )
        if self.tensorrt and (self.triton_backend != "onnxruntime" or self.instance_kind != "gpu"):
            raise ExportError(
                "--tensorrt adds Triton's TensorRT accelerator to the ONNX Runtime backend and "
                "only works with --triton-backend onnxruntime --instance-kind gpu "
                f"(got --triton-backend {self.triton_backend} --instance-kind {self.instance_kind})"
            )
        if self.fp16 and not cuda_available:
            raise ExportError(
                "--fp16 exports a half-precision graph, which needs a CUDA GPU to build and "
                "check, but torch sees no CUDA device here. Drop --fp16 (FP32 works everywhere) "
                "or run the export on a machine with a GPU."
            )
        if self.fp16 and self.instance_kind != "gpu":
            raise ExportError("--fp16 is for GPU instances; use --instance-kind gpu or drop --fp16")
        if self.checkpoint is not None and not self.checkpoint.is_file():
            raise ExportError(f"--checkpoint {self.checkpoint} is not a file")

    def onnx_key(self, versions: dict[str, str]) -> str:
        """Fingerprint of everything that decides the bytes of ``model.onnx``."""
        parts: dict[str, Any] = {
            "model": self.model_name,
            "pretrained": self.pretrained.lower(),
            "seed": self.seed,
            "opset": self.opset,
            "fp16": self.fp16,
            "checkpoint": file_sha256(self.checkpoint) if self.checkpoint else None,
            "versions": versions,
        }
        return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()

    def config_key(self) -> str:
        """Fingerprint of everything that decides ``config.pbtxt`` and the version layout."""
        parts = (self.triton_backend, self.instance_kind, self.max_batch_size, self.tensorrt)
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        data["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
