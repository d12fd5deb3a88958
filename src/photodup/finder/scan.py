"""Scan a library into the index: walk, examine in worker processes, embed, commit per batch.

Pipeline: the walk lists files; those unchanged since the last scan (same size and mtime,
embedded by the same model and weights) are not opened. The rest go to a pool of worker
processes (decode, preprocess, SHA-256, perceptual hashes, metadata) with a bounded number
outstanding; finished model inputs are batched and sent through the inference client by a
few threads, so several requests are in flight. Each embedded batch is written in one
transaction, so an interrupted scan keeps everything finished and the next scan resumes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from photodup.finder.examine import Examined, examine, worker_init
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Skipped, Store
from photodup.finder.verify.cache import save_extracted
from photodup.finder.walk import FoundFile, walk_library

log = logging.getLogger(__name__)

#: Called with (files finished, files to finish) as the scan advances.
ProgressFn = Callable[[int, int], None]


class EmbeddingClient(Protocol):
    """The part of ``photodup.client.InferenceClient`` the scan uses."""

    backend: str
    url: str

    def embed_tensors(self, batch: np.ndarray) -> np.ndarray: ...
    def wait_until_ready(self, timeout_s: float) -> None: ...
    def server_info(self) -> dict[str, Any]: ...


class ScanError(RuntimeError):
    """The scan had to stop (backend gone); everything committed before stays in the index."""


@dataclass
class ScanSummary:
    library: Path
    run_id: int = 0
    files_seen: int = 0
    unchanged: int = 0
    embedded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    removed: int = 0
    ignored: int = 0  # files that are not images and have no image extension
    seconds: float = 0.0
    state: str = "running"
    error: str | None = None

    @property
    def photos_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def _needs_work(
    found: FoundFile, store_state: Any, skipped_state: Any, tag: tuple[str, str]
) -> bool:
    entry = store_state.get(found.rel)
    if entry is not None:
        same_file = entry.size == found.size and entry.mtime_ns == found.mtime_ns
        return not (same_file and entry.has_embedding and (entry.model, entry.pretrained) == tag)
    if found.rel in skipped_state:
        return skipped_state[found.rel] != (found.size, found.mtime_ns)
    return True


class _Pipeline:
    def __init__(
        self,
        store: Store,
        client: EmbeddingClient,
        settings: FinderSettings,
        summary: ScanSummary,
        tag: tuple[str, str],
    ) -> None:
        self.store, self.client, self.settings = store, client, settings
        self.summary, self.tag = summary, tag
        self.pending_skips: list[Examined] = []

    def embed_with_retry(self, batch: np.ndarray) -> np.ndarray:
        from photodup.client import BackendUnavailableError

        try:
            return self.client.embed_tensors(batch)
        except BackendUnavailableError as first:
            log.warning(
                "%s backend at %s is unavailable (%s); waiting up to %.0f s for it to come back",
                self.client.backend,
                self.client.url,
                first,
                self.settings.backend_wait_s,
            )
            try:
                self.client.wait_until_ready(self.settings.backend_wait_s)
            except BackendUnavailableError as exc:
                raise ScanError(
                    f"the {self.client.backend} backend at {self.client.url} did not come back "
                    f"within {self.settings.backend_wait_s:.0f} s ({exc}); photos embedded so far "
                    "are kept, run the scan again once the backend is up"
                ) from exc
            return self.client.embed_tensors(batch)

    def commit(self, items: list[Examined], vectors: np.ndarray | None) -> None:
        with self.store.transaction():
            for item in self.pending_skips:
                assert item.skipped is not None
                self.store.record_skipped(item.skipped)
                self.summary.skipped[item.skipped.kind] += 1
            self.pending_skips.clear()
            for item, vec in zip(items, vectors if vectors is not None else [], strict=True):
                assert item.record is not None
                photo_id = self.store.upsert_photo(item.record)
                save_extracted(self.store.conn, item.record.sha256, item.extracted)
                self.store.set_embedding(photo_id, vec, *self.tag)
            self.summary.embedded += len(items)
            self.store.update_run(
                self.summary.run_id,
                embedded=self.summary.embedded,
                skipped=sum(self.summary.skipped.values()),
            )

    def run(self, todo: list[FoundFile], progress: ProgressFn | None) -> None:
        s = self.settings
        total, done = len(todo), 0
        files = iter(todo)
        ctx = multiprocessing.get_context("forkserver")
        decoding: set[Future[Any]] = set()
        embedding: dict[Future[Any], list[Examined]] = {}
        ready: list[Examined] = []
        max_decoding = s.workers * 2 + s.batch_size
        exhausted = False
        with (
            ProcessPoolExecutor(
                s.workers, mp_context=ctx, initializer=worker_init, initargs=(os.getpid(),)
            ) as procs,
            ThreadPoolExecutor(s.requests_in_flight, thread_name_prefix="embed") as threads,
        ):
            try:
                while True:
                    while not exhausted and len(decoding) < max_decoding:
                        nxt = next(files, None)
                        if nxt is None:
                            exhausted = True
                        else:
                            decoding.add(procs.submit(examine, nxt))
                    flush = exhausted and not decoding
                    while len(embedding) < s.requests_in_flight and (
                        len(ready) >= s.batch_size or (flush and ready)
                    ):
                        batch, ready = ready[: s.batch_size], ready[s.batch_size :]
                        tensors = np.stack([b.tensor for b in batch])  # type: ignore[misc]
                        embedding[threads.submit(self.embed_with_retry, tensors)] = batch
                    if not decoding and not embedding:
                        if self.pending_skips:
                            self.commit([], None)
                        break
                    outstanding: list[Future[Any]] = [*decoding, *embedding]
                    finished, _ = wait(outstanding, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        if fut in embedding:
                            batch = embedding.pop(fut)
                            self.commit(batch, fut.result())
                            done += len(batch)
                        else:
                            decoding.discard(fut)
                            item: Examined = fut.result()
                            if item.record is not None:
                                ready.append(item)
                                continue
                            if item.skipped is not None:
                                self.pending_skips.append(item)
                            else:
                                self.summary.ignored += 1
                            done += 1
                    if len(self.pending_skips) >= s.batch_size:
                        self.commit([], None)
                    if progress is not None:
                        progress(done, total)
            except BaseException:
                for pending in [*decoding, *embedding]:
                    pending.cancel()
                procs.shutdown(wait=False, cancel_futures=True)
                raise


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
        walked = walk_library(library)
        summary.files_seen = len(walked.files)
        state, skipped_state = store.index_state(), store.skipped_state()
        todo = [f for f in walked.files if _needs_work(f, state, skipped_state, tag)]
        summary.unchanged = summary.files_seen - len(todo)
        with store.transaction():
            store.update_run(
                summary.run_id, files_seen=summary.files_seen, unchanged=summary.unchanged
            )
            for folder, reason in walked.unreadable_dirs.items():
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
            len(todo),
        )
        try:
            _Pipeline(store, client, settings, summary, tag).run(todo, progress)
            seen = {f.rel for f in walked.files}
            with store.transaction():
                summary.removed = store.remove_missing(seen, tuple(walked.unreadable_dirs))
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
    return summary
