"""``photodup bench``: PyTorch vs Triton vs the raw engines, on the same photos, in one run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from photodup.contract import PRETRAINED_NONE


def _sizes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers like 1,8,32, got {text!r}"
        ) from None


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        backend: Annotated[str, typer.Option(help="pytorch, triton or both.")] = "both",
        quick: Annotated[bool, typer.Option("--quick", help="Few samples (~1-2 min).")] = False,
        profile: Annotated[str, typer.Option(help="quick, medium or full.")] = "full",
        iterations: Annotated[
            int | None, typer.Option(help="Sequential single-image requests per series.")
        ] = None,
        concurrency: Annotated[
            int | None, typer.Option(help="Highest concurrency level (levels 1,2,4,... up to it).")
        ] = None,
        batch_sizes: Annotated[str | None, typer.Option(help="e.g. 1,8,32")] = None,
        start_local: Annotated[
            bool, typer.Option("--start-local", help="Start each backend here, one at a time.")
        ] = False,
        url_pytorch: Annotated[str | None, typer.Option(help="A running PyTorch service.")] = None,
        url_triton: Annotated[str | None, typer.Option(help="A running Triton (HTTP).")] = None,
        url_triton_grpc: Annotated[
            str | None, typer.Option(help="Its gRPC address (host:port) for the transport table.")
        ] = None,
        triton_metrics_url: Annotated[
            str | None, typer.Option(help="Its Prometheus URL, e.g. http://host:8002/metrics.")
        ] = None,
        images: Annotated[
            Path | None, typer.Option(help="Folder of real photos (default: generated 12 MP set).")
        ] = None,
        pretrained: Annotated[
            str, typer.Option(help="Weights for --start-local and the raw engines.")
        ] = PRETRAINED_NONE,
        model_repository: Annotated[
            Path | None, typer.Option(help="Use this exported repository instead of exporting.")
        ] = None,
        cache_dir: Annotated[Path, typer.Option(help="Generated photos and exports.")] = Path(
            ".cache/bench"
        ),
        results_dir: Annotated[
            Path, typer.Option(help="Reports go to <results-dir>/<timestamp>/.")
        ] = Path("bench/results"),
        report_dir: Annotated[
            Path | None, typer.Option(help="Exact folder for the report (overrides results-dir).")
        ] = None,
        output: Annotated[Path | None, typer.Option(help="Also write results.json here.")] = None,
        gpu_variants: Annotated[
            bool, typer.Option(help="On a GPU, also measure FP16 (and TensorRT where possible).")
        ] = True,
    ) -> None:
        """Measure both backends through the product's client, beside the raw engines."""
        import json
        import logging

        from rich.console import Console

        from photodup.bench.config import PROFILES, BenchConfig, build_profile
        from photodup.bench.report import write_report
        from photodup.bench.run import run_bench

        if backend not in ("pytorch", "triton", "both"):
            raise typer.BadParameter(f"--backend must be pytorch, triton or both, got {backend!r}")
        name = "quick" if quick else profile
        if name not in PROFILES:
            raise typer.BadParameter(f"--profile must be one of {sorted(PROFILES)}, got {name!r}")
        try:
            chosen = build_profile(
                name,
                iterations=iterations,
                batch_sizes=_sizes(batch_sizes),
                concurrency=concurrency,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = report_dir or results_dir / stamp
        config = BenchConfig(
            profile=chosen,
            backend=backend,  # type: ignore[arg-type]  # checked above
            output=output,
            results_dir=folder,
            url_pytorch=url_pytorch,
            url_triton=url_triton,
            triton_grpc_url=url_triton_grpc,
            triton_metrics_url=triton_metrics_url,
            start_local=start_local,
            images_dir=images,
            pretrained=pretrained,
            model_repository=model_repository,
            cache_dir=cache_dir,
            gpu_variants=gpu_variants,
        )
        # One INFO line per HTTP request would bury the progress lines.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        console = Console(stderr=True)
        with console.status("starting the bench") as status:

            def progress(message: str) -> None:
                status.update(message)
                console.log(message)

            try:
                results = run_bench(config, folder / "logs", progress)
            except Exception as exc:
                logging.getLogger(__name__).debug("bench failed", exc_info=True)
                console.print(f"[red]bench failed:[/red] {type(exc).__name__}: {exc}")
                raise typer.Exit(1) from exc
        report = write_report(results, folder)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2))
        for item in results["comparisons"]["verdict"]:
            console.print(f"- {item['topic']}: {item['text']}", soft_wrap=True)
        console.print(f"report: {report}")
