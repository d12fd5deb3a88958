"""``photodup export``: write the Triton model repository from OpenCLIP weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from photodup.settings import ModelSettings

if TYPE_CHECKING:
    from photodup.export.repository import ExportResult


def register(app: typer.Typer) -> None:
    defaults = ModelSettings()

    @app.command("export")
    def export(
        model: str = typer.Option(defaults.model_name, "--model", help="OpenCLIP architecture."),
        pretrained: str = typer.Option(
            defaults.pretrained,
            "--pretrained",
            help="open_clip pretrained tag (downloaded from the hub), or 'none' for seeded "
            "random weights.",
        ),
        checkpoint: Annotated[
            Path | None,
            typer.Option("--checkpoint", help="Local weights file instead of a download."),
        ] = defaults.checkpoint,
        seed: int = typer.Option(defaults.seed, "--seed", help="Seed for pretrained=none."),
        output: Annotated[
            Path, typer.Option("--output", help="Triton model repository to write.")
        ] = defaults.model_repository,
        triton_backend: str = typer.Option(
            "onnxruntime",
            "--triton-backend",
            help="onnxruntime (the NGC container) or python (ONNX Runtime inside Triton's "
            "Python backend; what `photodup triton` runs).",
        ),
        instance_kind: str = typer.Option("gpu", "--instance-kind", help="gpu or cpu."),
        max_batch_size: int = typer.Option(32, "--max-batch-size", help="Triton max_batch_size."),
        fp16: bool = typer.Option(False, "--fp16", help="FP16 inside the graph (GPU only)."),
        tensorrt: bool = typer.Option(
            False, "--tensorrt", help="Add Triton's TensorRT accelerator (onnxruntime + gpu)."
        ),
        force: bool = typer.Option(False, "--force", help="Export even if nothing changed."),
        new_version: bool = typer.Option(
            False, "--new-version", help="Write the next version directory (hot swap)."
        ),
    ) -> None:
        """Export OpenCLIP to ONNX, check it against PyTorch, write config.pbtxt + manifest."""
        from photodup.export import ExportError, ExportOptions, export_repository

        options = ExportOptions(
            model_name=model,
            pretrained=pretrained,
            checkpoint=checkpoint,
            seed=seed,
            output=output,
            triton_backend=triton_backend,  # type: ignore[arg-type]  # validated below
            instance_kind=instance_kind,  # type: ignore[arg-type]
            max_batch_size=max_batch_size,
            fp16=fp16,
            tensorrt=tensorrt,
            force=force,
            new_version=new_version,
        )
        try:
            result = export_repository(options)
        except ExportError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        for done in (result, *result.companions):
            _say(done, options.triton_backend)


def _say(result: ExportResult, backend: str) -> None:
    """One model's line and its parity figures (the fp32 model and the uint8 companion)."""
    if result.skipped:
        typer.echo(
            f"{result.version_dir}: already exported with the same inputs; nothing to do "
            "(use --force to export again)"
        )
    else:
        how = "reused the checked ONNX graph" if result.reused_onnx else "exported"
        typer.echo(f"{result.version_dir}: {how}, {backend} backend")
    for case in result.manifest["parity"]["cases"]:
        typer.echo(
            f"  parity {case['name']:<16} batch {case['batch']:>2}: "
            f"max abs diff {case['max_abs_diff']:.2e}, min cosine {case['min_cosine']:.6f}"
        )
    typer.echo(f"  onnx sha256 {result.manifest['onnx_sha256']}")
