"""Scan a library into the index: walk, examine in worker processes, embed, commit per batch.

Pipeline: the walk streams files into temporary tables (:mod:`photodup.finder.scanplan`);
those unchanged since the last scan (same size and mtime, embedded by the same model and
weights) are not opened. The rest go through
:mod:`photodup.finder.pipeline`: worker processes (SHA-256, metadata, decode, preprocess,
perceptual hashes) with a bounded number of decoded photos alive at once, batches sent by a
few threads so several requests are in flight, and content already embedded reused. Each
embedded batch is written in one transaction, so an interrupted scan keeps everything
finished and the next scan resumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from photodup.finder.pipeline import Pipeline
from photodup.finder.scanplan import ScanPlan
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Skipped, Store
from photodup.finder.summary import EmbeddingClient, ProgressFn, ScanError, ScanSummary
from photodup.finder.walk import iter_library

__all__ = ["EmbeddingClient", "ProgressFn", "ScanError", "ScanSummary", "scan_library"]

log = logging.getLogger(__name__)


def scan_library(
    library: Path,
    client: EmbeddingClient,
    settings: FinderSettings,
    *,
    progress: ProgressFn | None = None,
    on_waiting: Callable[[str], None] | None = None,
) -> ScanSummary:
    """Bring the index of ``library`` up to date; raises ScanError if the backend is gone."""
    from photodup.client import BackendUnavailableError

    library = library.resolve()
    if not library.is_dir():
        raise ScanError(f"{library}: not a folder")
    started = time.monotonic()
    summary = ScanSummary(library)
    with Store.open(library, settings.db_path) as store:
        if on_waiting is not None:
            on_waiting(
                f"waiting up to {settings.backend_wait_s:.0f} s for the {client.backend} backend "
                f"at {client.url}"
            )
        try:
            client.wait_until_ready(settings.backend_wait_s)
        except BackendUnavailableError as exc:
            raise ScanError(
                f"the {client.backend} backend at {client.url} is not ready after "
                f"{settings.backend_wait_s:.0f} s ({exc}). Start it (photodup serve, or "
                "photodup triton) or set INFERENCE_BACKEND / INFERENCE_SERVICE_URL"
            ) from exc
        info = client.server_info()
        tag = (str(info.get("model_name")), str(info.get("pretrained")))
        summary.run_id = store.start_run(
            backend=client.backend, url=client.url, model=tag[0], pretrained=tag[1]
        )
        plan = ScanPlan(store, library)
        unreadable: dict[bytes, str] = {}
        t0 = time.perf_counter()
        summary.files_seen = plan.record_walk(iter_library(library, unreadable), unreadable)
        summary.stages["walk"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        to_examine = plan.select_todo(*tag)
        summary.stages["plan"] += time.perf_counter() - t0
        summary.unchanged = summary.files_seen - to_examine
        with store.transaction():
            store.update_run(
                summary.run_id, files_seen=summary.files_seen, unchanged=summary.unchanged
            )
            for folder, reason in unreadable.items():
                store.record_skipped(
                    Skipped(
                        folder, "unreadable", f"cannot list folder: {reason}", run_id=summary.run_id
                    )
                )
                summary.skipped["unreadable"] += 1
        log.info(
            "%d files, %d unchanged, %d to examine",
            summary.files_seen,
            summary.unchanged,
            to_examine,
        )
        try:
            Pipeline(store, client, settings, summary, tag).run(plan.todo(), to_examine, progress)
            with store.transaction():
                summary.removed = plan.forget_unseen()
                store.update_run(summary.run_id, removed=summary.removed)
            summary.state = "completed"
        except ScanError as exc:
            summary.state, summary.error = "failed", str(exc)
            raise
        except BaseException as exc:
            summary.state = "interrupted"
            summary.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise
        finally:
            summary.seconds = time.monotonic() - started
            store.finish_run(summary.run_id, summary.state, summary.error)
            plan.close()
    return summary
