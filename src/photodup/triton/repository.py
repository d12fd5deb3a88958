"""Check a model repository before handing it to Triton, so mistakes get a plain message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photodup.triton.distribution import TritonLaunchError


@dataclass(frozen=True)
class RepositoryModel:
    name: str
    backend: str
    versions: list[int]


def inspect_repository(path: Path) -> list[RepositoryModel]:
    """Parse every model's ``config.pbtxt``; raise TritonLaunchError when Triton would fail.

    The wheel's Triton has only the Python backend, so a repository exported for the ONNX
    Runtime backend (the NGC container's) is refused here rather than failing inside Triton.
    """
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    if not path.is_dir():
        raise TritonLaunchError(
            f"model repository {path} does not exist; create it with "
            f"`photodup export --output {path} --triton-backend python --instance-kind cpu`"
        )
    models = []
    for model_dir in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        config_path = model_dir / "config.pbtxt"
        if not config_path.is_file():
            raise TritonLaunchError(f"{model_dir} has no config.pbtxt; re-run `photodup export`")
        try:
            config = text_format.Parse(config_path.read_text(), model_config_pb2.ModelConfig())
        except text_format.ParseError as exc:
            raise TritonLaunchError(f"{config_path} is not a valid model config: {exc}") from exc
        backend = config.backend or config.platform
        if backend in ("onnxruntime", "onnxruntime_onnx"):
            raise TritonLaunchError(
                f"{config_path} uses the ONNX Runtime backend ({backend}); that variant is for "
                "the NGC Triton container (docker compose). The local Triton from the "
                "nvidia-pytriton wheel only has the Python backend: export with "
                f"`photodup export --output {path} --triton-backend python --instance-kind cpu`"
            )
        versions = sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit())
        if not versions:
            raise TritonLaunchError(
                f"{model_dir} has no version directory (e.g. {model_dir}/1); "
                "re-run `photodup export`"
            )
        models.append(RepositoryModel(config.name or model_dir.name, backend, versions))
    if not models:
        raise TritonLaunchError(
            f"model repository {path} holds no model; run "
            f"`photodup export --output {path} --triton-backend python --instance-kind cpu`"
        )
    return models
