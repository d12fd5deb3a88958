"""Write (or refresh) the Triton model repository: ONNX graph, config.pbtxt, model.py, manifest.

Each version directory is built in a hidden staging folder and renamed into place, so a Triton
server polling the repository never sees half a model.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photodup import contract
from photodup.export.manifest import (
    MANIFEST_NAME,
    build_manifest,
    library_versions,
    read_manifest,
    write_json_atomic,
)
from photodup.export.options import ExportError, ExportOptions, file_sha256
from photodup.export.triton_config import render_config

log = logging.getLogger(__name__)
ONNX_NAME = "model.onnx"
PYTHON_MODEL_NAME = "model.py"
_PYTHON_MODEL_SOURCE = Path(__file__).with_name("python_model.py")


@dataclass(frozen=True)
class ExportResult:
    model_dir: Path
    version: int
    skipped: bool
    reused_onnx: bool
    manifest: dict[str, Any]
    #: The models built from this one's graph (the uint8 model), written beside it.
    companions: tuple[ExportResult, ...] = ()

    @property
    def version_dir(self) -> Path:
        return self.model_dir / str(self.version)


def existing_versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _onnx_intact(version_dir: Path, manifest: dict[str, Any]) -> bool:
    onnx_path = version_dir / ONNX_NAME
    return onnx_path.is_file() and file_sha256(onnx_path) == manifest.get("onnx_sha256")


def _layout_intact(
    model_dir: Path,
    version_dir: Path,
    options: ExportOptions,
    model: contract.ServedModel = contract.FP32_MODEL,
) -> bool:
    config = model_dir / "config.pbtxt"
    if not config.is_file() or config.read_text() != render_config(options, model):
        return False
    if options.triton_backend == "python":
        model_py = version_dir / PYTHON_MODEL_NAME
        return model_py.is_file() and model_py.read_bytes() == _PYTHON_MODEL_SOURCE.read_bytes()
    return True


def _build_onnx(options: ExportOptions, onnx_path: Path) -> tuple[dict[str, Any], str, float]:
    """Load the weights, export the graph, check parity; returns (parity, pretrained tag, s)."""
    from photodup.export.onnx_graph import export_onnx, exportable
    from photodup.export.parity import check_parity
    from photodup.model.openclip import WeightsUnavailableError, load_embedder

    device = "cuda" if options.fp16 else "cpu"
    started = time.perf_counter()
    try:
        loaded = load_embedder(
            options.model_name,
            options.pretrained,
            checkpoint=options.checkpoint,
            seed=options.seed,
            device=device,
        )
    except WeightsUnavailableError as exc:
        raise ExportError(str(exc)) from exc
    module = exportable(loaded.embedder, fp16=options.fp16)
    log.info(
        "exporting %s (%s) to ONNX opset %d", loaded.model_name, loaded.pretrained, options.opset
    )
    try:
        export_onnx(module, onnx_path, opset=options.opset, device=device)
    except Exception as exc:  # torch.export raises many types; all mean the graph is unusable
        raise ExportError(f"ONNX export of {options.model_name} failed: {exc}") from exc
    seconds = time.perf_counter() - started
    report = check_parity(module, onnx_path, device=device)
    for case in report.cases:
        log.info(
            "parity %-16s batch %2d: max abs diff %.2e (%.2e of scale), min cosine %.6f %s",
            case.name,
            case.batch,
            case.max_abs_diff,
            case.relative_diff,
            case.min_cosine,
            "ok" if case.ok else "FAILED",
        )
    if not report.ok:
        raise ExportError(
            f"ONNX output differs from PyTorch beyond 0.1%: max abs diff {report.max_abs_diff:.3e},"
            f" min cosine {report.min_cosine:.6f}; the graph was not installed"
        )
    return report.as_json(), loaded.pretrained, seconds


def export_repository(
    options: ExportOptions, *, cuda_available: Callable[[], bool] | None = None
) -> ExportResult:
    """Export both models per ``options``; does nothing when the latest versions match.

    Returns the fp32 model's result (the seed's contract); the uint8 model built from its
    graph is in ``companions``.
    """
    result = _export_fp32(options, cuda_available=cuda_available)
    companion = export_uint8(options, result)
    return ExportResult(
        result.model_dir,
        result.version,
        result.skipped,
        result.reused_onnx,
        result.manifest,
        (companion,),
    )


def _export_fp32(
    options: ExportOptions, *, cuda_available: Callable[[], bool] | None = None
) -> ExportResult:
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available
    options.validate(cuda_available=cuda_available() if options.fp16 else False)
    model_dir = options.output / contract.TRITON_MODEL_NAME
    versions = existing_versions(model_dir)
    latest = versions[-1] if versions else None
    latest_dir = model_dir / str(latest) if latest is not None else None
    previous = read_manifest(latest_dir) if latest_dir is not None else None
    onnx_key = options.onnx_key(library_versions())
    config_key = options.config_key()

    same_onnx = (
        previous is not None
        and latest_dir is not None
        and previous.get("onnx_key") == onnx_key
        and _onnx_intact(latest_dir, previous)
    )
    if same_onnx and not options.force and not options.new_version:
        assert previous is not None and latest_dir is not None and latest is not None
        if previous.get("config_key") == config_key and _layout_intact(
            model_dir, latest_dir, options
        ):
            return ExportResult(model_dir, latest, True, True, previous)

    version = (latest or 0) + 1 if options.new_version else (latest or 1)
    staging = model_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        reuse = same_onnx and not options.force
        if reuse:
            assert previous is not None and latest_dir is not None
            # Hard links keep a 350 MB graph from being copied when only the config changed.
            _link_or_copy(latest_dir / ONNX_NAME, staging / ONNX_NAME)
            parity, pretrained, seconds = previous["parity"], previous["pretrained"], None
        else:
            parity, pretrained, seconds = _build_onnx(options, staging / ONNX_NAME)
        if options.triton_backend == "python":
            shutil.copyfile(_PYTHON_MODEL_SOURCE, staging / PYTHON_MODEL_NAME)
        onnx_path = staging / ONNX_NAME
        manifest = build_manifest(
            model_name=options.model_name,
            pretrained=pretrained,
            opset=options.opset,
            onnx_sha256=file_sha256(onnx_path),
            onnx_bytes=onnx_path.stat().st_size,
            parity=parity,
            options=options.as_json(),
            onnx_key=onnx_key,
            config_key=config_key,
            version=version,
            export_seconds=seconds,
        )
        write_json_atomic(staging / MANIFEST_NAME, manifest)
        _install(staging, model_dir / str(version))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    config = model_dir / "config.pbtxt"
    tmp = config.with_name(".config.pbtxt.tmp")
    tmp.write_text(render_config(options))
    tmp.replace(config)
    return ExportResult(model_dir, version, False, reuse, manifest)


def export_uint8(options: ExportOptions, fp32: ExportResult) -> ExportResult:
    """Write the uint8 model beside ``fp32``, at the same version, unless it already matches."""
    from photodup.export.uint8_graph import build_uint8_graph
    from photodup.export.uint8_parity import check_uint8_parity

    model = contract.UINT8_MODEL
    model_dir = options.output / model.name
    version_dir = model_dir / str(fp32.version)
    source_sha = fp32.manifest["onnx_sha256"]
    previous = read_manifest(version_dir)
    if (
        previous is not None
        and previous.get("source_onnx_sha256") == source_sha
        and _onnx_intact(version_dir, previous)
        and _layout_intact(model_dir, version_dir, options, model)
    ):
        return ExportResult(model_dir, fp32.version, True, True, previous)
    staging = model_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        started = time.perf_counter()
        build_uint8_graph(fp32.version_dir / ONNX_NAME, staging / ONNX_NAME)
        seconds = time.perf_counter() - started
        report = check_uint8_parity(fp32.version_dir / ONNX_NAME, staging / ONNX_NAME)
        if not report.ok:
            raise ExportError(
                f"the uint8 model differs from the fp32 one: min cosine {report.min_cosine:.6f}, "
                f"max abs diff {report.max_abs_diff:.3e}; it was not installed"
            )
        if options.triton_backend == "python":
            shutil.copyfile(_PYTHON_MODEL_SOURCE, staging / PYTHON_MODEL_NAME)
        onnx_path = staging / ONNX_NAME
        manifest = dict(fp32.manifest)
        manifest.update(
            onnx_sha256=file_sha256(onnx_path),
            onnx_bytes=onnx_path.stat().st_size,
            parity=report.as_json(),
            source_model=contract.TRITON_MODEL_NAME,
            source_onnx_sha256=source_sha,
            input=f"{model.input_name} {model.input_dtype} {list(contract.INPUT_SHAPE)}",
            export_seconds=seconds,
        )
        write_json_atomic(staging / MANIFEST_NAME, manifest)
        _install(staging, version_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    config = model_dir / "config.pbtxt"
    tmp = config.with_name(".config.pbtxt.tmp")
    tmp.write_text(render_config(options, model))
    tmp.replace(config)
    return ExportResult(model_dir, fp32.version, False, False, manifest)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _install(staging: Path, target: Path) -> None:
    """Swap ``staging`` into ``target``, replacing an older build of the same version."""
    old = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
