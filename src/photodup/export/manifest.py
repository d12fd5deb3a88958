"""The JSON manifest written beside every exported ``model.onnx``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
_VERSIONED = ("torch", "open_clip_torch", "onnx", "onnxruntime", "onnxscript")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the exported graph, for the manifest and the key."""
    found = {}
    for dist in _VERSIONED:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    return found


def read_manifest(version_dir: Path) -> dict[str, Any] | None:
    """The manifest in ``version_dir``, or None when absent or unreadable (then re-export)."""
    try:
        data = json.loads((version_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def build_manifest(
    *,
    model_name: str,
    pretrained: str,
    opset: int,
    onnx_sha256: str,
    onnx_bytes: int,
    parity: dict[str, Any],
    options: dict[str, Any],
    onnx_key: str,
    config_key: str,
    version: int,
    export_seconds: float | None,
) -> dict[str, Any]:
    return {
        "model": model_name,
        "pretrained": pretrained,
        "opset": opset,
        "onnx_sha256": onnx_sha256,
        "onnx_bytes": onnx_bytes,
        "parity": parity,
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": options,
        "onnx_key": onnx_key,
        "config_key": config_key,
        "version": version,
        "export_seconds": export_seconds,
    }
