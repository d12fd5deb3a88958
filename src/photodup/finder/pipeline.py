"""The scan's pipeline: worker processes -> batches -> backend -> index, with bounded memory.

Back-pressure: a decoded photo (its model input is ~0.6 MB of float32) exists from the moment
its file is handed to a worker until its batch is committed. The pipeline hands a worker a new
file only while fewer than ``tensor_window`` photos are in that state, so a slow backend
stalls the workers and the walk instead of filling memory (issue 12, D7).

Each distinct content is decoded and embedded once (issue 9): a file whose size matches an
embedded content's is sent to its worker with those SHA-256s as candidates (asked of the index
file by file, so nothing here grows with the library), and a worker that finds one of them
only hashes the file. Within a scan, files of the same size (``FoundFile.twin``) are examined
one at a time, so the second of two identical files already sees the first's hash. The copy's
row gets its own record and embedding, so removing one file never loses the other's.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

import numpy as np

from photodup.finder.examine import Examined, examine, worker_init
from photodup.finder.records import PhotoRecord
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Store
from photodup.finder.summary import EmbeddingClient, ProgressFn, ScanError, ScanSummary
from photodup.finder.verify.cache import save_extracted
from photodup.finder.walk import FoundFile

log = logging.getLogger(__name__)
_RECORD_FIELDS = [f.name for f in dataclasses.fields(PhotoRecord)]


def tensor_window(settings: FinderSettings) -> int:
    """Most photos decoded and not yet committed: every request in flight, one batch being
    filled, and two files per worker so no worker waits for its next file."""
    return settings.batch_size * (settings.requests_in_flight + 1) + 2 * settings.workers


def _copy_record(source: PhotoRecord, found: FoundFile) -> PhotoRecord:
    values = {name: getattr(source, name) for name in _RECORD_FIELDS}
    values.update(path=found.rel, size=found.size, mtime_ns=found.mtime_ns)
    return PhotoRecord(**values)


class Pipeline:
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
        self.window = summary.tensor_window = tensor_window(settings)
        self.held = 0  # photos decoded or being decoded, not yet committed
        self.pending_skips: list[Examined] = []
        self.copies: list[tuple[Examined, PhotoRecord, np.ndarray]] = []
        #: SHA-256 of an embedded-but-not-committed content -> its copies waiting for it.
        self.waiting: dict[str, list[Examined]] = {}
        #: Size -> SHA-256s examined this scan and not yet in the index (twins only).
        self.uncommitted: dict[int, set[str]] = {}
        self.examining: Counter[int] = Counter()  # twins with a worker, by size
        self.deferred: dict[int, deque[FoundFile]] = {}
        self.again: deque[tuple[FoundFile, bool]] = deque()  # (file, may reuse)

    # --- backend and index ------------------------------------------------------------

    def embed_with_retry(self, batch: np.ndarray) -> np.ndarray:
        from photodup.client import InferenceError

        started = time.perf_counter()
        try:
            return self._embed_or_wait(batch)
        except InferenceError as exc:  # a timeout, a refusal, a wrong answer: not a bug
            raise ScanError(
                f"the {self.client.backend} backend at {self.client.url} failed a batch of "
                f"{len(batch)} photos ({exc}); photos embedded so far are kept, run the scan "
                "again once the backend is fixed"
            ) from exc
        finally:
            self.summary.stages["request"] += time.perf_counter() - started

    def _embed_or_wait(self, batch: np.ndarray) -> np.ndarray:
        from photodup.client import BackendUnavailableError

        try:
            return self.client.embed_pixels(batch)
        except BackendUnavailableError as first:
            log.warning(
                "%s backend at %s is unavailable (%s); waiting up to %.0f s for it",
                self.client.backend,
                self.client.url,
                first,
                self.settings.backend_wait_s,
            )
            try:
                self.client.wait_until_ready(self.settings.backend_wait_s)
            except BackendUnavailableError as exc:
                raise ScanError(
                    f"the {self.client.backend} backend at {self.client.url} did not come "
                    f"back within {self.settings.backend_wait_s:.0f} s ({exc}); photos "
                    "embedded so far are kept, run the scan again once the backend is up"
                ) from exc
            return self.client.embed_pixels(batch)

    def commit(self, items: list[Examined], vectors: np.ndarray | None) -> int:
        """Write a batch, its waiting copies, ready copies and skips; returns files done."""
        started = time.perf_counter()
        summary, copies = self.summary, self.copies
        for item, vec in zip(items, vectors if vectors is not None else [], strict=True):
            assert item.record is not None
            for copy in self.waiting.pop(item.record.sha256, []):
                copies.append((copy, item.record, vec))
            shas = self.uncommitted.get(item.found.size)
            if shas is not None:  # from now on the index answers for this content
                shas.discard(item.record.sha256)
                if not shas:
                    del self.uncommitted[item.found.size]
        with self.store.transaction():
            for skipped in self.pending_skips:
                assert skipped.skipped is not None
                self.store.record_skipped(skipped.skipped)
                summary.skipped[skipped.skipped.kind] += 1
            for item, vec in zip(items, vectors if vectors is not None else [], strict=True):
                assert item.record is not None
                self.store.set_embedding(self.store.upsert_photo(item.record), vec, *self.tag)
                # content-keyed: copies of this content share these features
                save_extracted(self.store.conn, item.record.sha256, item.extracted)
            for copy, source, vec in copies:
                record = _copy_record(source, copy.found)
                self.store.set_embedding(self.store.upsert_photo(record), vec, *self.tag)
            summary.embedded += len(items) + len(copies)
            summary.reused += len(copies)
            self.store.update_run(
                summary.run_id, embedded=summary.embedded, skipped=sum(summary.skipped.values())
            )
        done = len(items) + len(copies) + len(self.pending_skips)
        self.pending_skips.clear()
        copies.clear()
        summary.stages["commit"] += time.perf_counter() - started
        return done

    # --- planning: which files go to a worker, and when ---------------------------------

    def _next_file(self, files: Iterator[FoundFile]) -> tuple[FoundFile, bool] | None:
        if self.again:
            return self.again.popleft()
        for found in files:
            # A same-size file already with a worker may be this file's twin: wait for its
            # hash. Many distinct same-size files (e.g. raw BMPs) are not held back for ever.
            if self.examining[found.size]:
                queue = self.deferred.setdefault(found.size, deque())
                if len(queue) < 2 * self.settings.workers:
                    queue.append(found)
                    continue
            return found, True
        return None

    def _candidates(self, found: FoundFile) -> frozenset[str]:
        """Contents this file may be a copy of: embedded ones of its size, and its twins'."""
        known = self.store.embedded_shas(found.size, *self.tag)
        return frozenset(known | self.uncommitted.get(found.size, set()))

    def _submit(self, procs: ProcessPoolExecutor, found: FoundFile, may_reuse: bool) -> Future[Any]:
        candidates = self._candidates(found) if may_reuse else frozenset()
        if found.twin:
            self.examining[found.size] += 1
        self.held += 1
        self.summary.peak_tensors = max(self.summary.peak_tensors, self.held)
        return procs.submit(examine, found, candidates)

    def _examined(self, submitted: FoundFile, item: Examined) -> int:
        """Take a worker's result; returns the files finished by it (0 or 1).

        ``submitted`` is the file as planned: the worker's ``item.found`` carries the size it
        read, which differs if the file changed since the walk."""
        size = submitted.size
        self.held -= 1
        for stage, seconds in item.times.items():
            self.summary.stages[stage] += seconds
        if submitted.twin:
            self.examining[size] -= 1
            if not self.examining[size]:
                del self.examining[size]
            queue = self.deferred.get(size)
            if queue:
                self.again.append((queue.popleft(), True))
                if not queue:
                    del self.deferred[size]
        if item.record is not None and submitted.twin:
            self.uncommitted.setdefault(item.found.size, set()).add(item.record.sha256)
        if item.reuse is not None:
            if item.reuse in self.waiting:
                self.waiting[item.reuse].append(item)
                return 0
            found = self.store.embedded_copy(item.reuse, *self.tag)
            if found is None:  # that row changed since: examine this file in full
                self.again.append((item.found, False))
                return 0
            self.copies.append((item, found[0], found[1]))
            return 0
        if item.record is not None:
            self.held += 1  # its tensor now waits for a batch
            self.waiting.setdefault(item.record.sha256, [])
            return 0
        if item.skipped is not None:
            self.pending_skips.append(item)
        else:
            self.summary.ignored += 1
            return 1
        return 0

    # --- the loop -----------------------------------------------------------------------

    def run(self, todo: Iterable[FoundFile], total: int, progress: ProgressFn | None) -> None:
        """Examine, embed and commit the ``total`` files of ``todo`` (read lazily)."""
        s, summary = self.settings, self.summary
        done = 0
        files: Iterator[FoundFile] = iter(todo)
        ctx = multiprocessing.get_context("forkserver")
        decoding: dict[Future[Any], FoundFile] = {}
        embedding: dict[Future[Any], list[Examined]] = {}
        ready: list[Examined] = []
        exhausted = False
        with (
            ProcessPoolExecutor(
                s.workers, mp_context=ctx, initializer=worker_init, initargs=(os.getpid(),)
            ) as procs,
            ThreadPoolExecutor(s.requests_in_flight, thread_name_prefix="embed") as threads,
        ):
            try:
                while True:
                    while self.held < self.window:
                        nxt = self._next_file(files)
                        if nxt is None:
                            exhausted = not self.again
                            break
                        decoding[self._submit(procs, *nxt)] = nxt[0]
                    flush = exhausted and not decoding and not self.again
                    while len(embedding) < s.requests_in_flight and (
                        len(ready) >= s.batch_size or (flush and ready)
                    ):
                        t0 = time.perf_counter()
                        batch, ready = ready[: s.batch_size], ready[s.batch_size :]
                        tensors = np.stack([b.tensor for b in batch])  # type: ignore[misc]
                        # The worker's copy is no longer needed; the stacked batch holds it.
                        batch = [dataclasses.replace(b, tensor=None) for b in batch]
                        embedding[threads.submit(self.embed_with_retry, tensors)] = batch
                        summary.requests += 1
                        summary.stages["batch"] += time.perf_counter() - t0
                    if not decoding and not embedding and not self.again and flush:
                        if self.pending_skips or self.copies:
                            done += self.commit([], None)
                        break
                    t0 = time.perf_counter()
                    finished, _ = wait_futures([*decoding, *embedding], return_when=FIRST_COMPLETED)
                    summary.stages["wait"] += time.perf_counter() - t0
                    for fut in finished:
                        if fut in embedding:
                            batch = embedding.pop(fut)
                            self.held -= len(batch)
                            done += self.commit(batch, fut.result())
                        else:
                            submitted = decoding.pop(fut)
                            item: Examined = fut.result()
                            done += self._examined(submitted, item)
                            if item.record is not None:
                                ready.append(item)
                    if len(self.pending_skips) + len(self.copies) >= s.batch_size:
                        done += self.commit([], None)
                    if progress is not None:
                        progress(done, total)
            except BaseException:
                for pending in [*decoding, *embedding]:
                    pending.cancel()
                procs.shutdown(wait=False, cancel_futures=True)
                raise
