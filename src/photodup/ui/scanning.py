"""The "scan now" button: one background scan at a time, with progress the page can poll."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from photodup.finder.settings import FinderSettings
from photodup.ui.settings import BackendChoice

log = logging.getLogger(__name__)


@dataclass
class ScanStatus:
    state: str = "idle"  # idle, waiting, running, completed, failed
    done: int = 0
    total: int = 0
    message: str = ""
    backend: str = ""
    url: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    embedded: int = 0
    skipped: int = 0

    @property
    def active(self) -> bool:
        return self.state in ("waiting", "running")

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active, "percent": round(self.percent, 1)}


class ScanJob:
    """Runs ``scan_library`` in a daemon thread; ``on_finish`` runs after every scan."""

    def __init__(
        self, library: Path, settings: FinderSettings, on_finish: Callable[[], None]
    ) -> None:
        self.library = library
        self.settings = settings
        self.on_finish = on_finish
        self.status = ScanStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> ScanStatus:
        with self._lock:
            return ScanStatus(**asdict(self.status))

    def start(self, choice: BackendChoice) -> bool:
        """Start a scan with ``choice``; False if one is already running."""
        with self._lock:
            if self.status.active:
                return False
            self.status = ScanStatus(
                state="waiting",
                message=f"connecting to the {choice.backend} backend at {choice.url}",
                backend=choice.backend,
                url=choice.url,
                started_at=time.time(),
            )
            self._thread = threading.Thread(
                target=self._run, args=(choice,), name="photodup-scan", daemon=True
            )
            self._thread.start()
        return True

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _update(self, **fields: Any) -> None:
        with self._lock:
            for key, value in fields.items():
                setattr(self.status, key, value)

    def _run(self, choice: BackendChoice) -> None:
        from photodup.client import InferenceClient
        from photodup.finder.scan import scan_library

        def progress(done: int, total: int) -> None:
            self._update(state="running", done=done, total=total, message="embedding photos")

        try:
            with InferenceClient(choice.url, choice.backend) as client:
                summary = scan_library(
                    self.library,
                    client,
                    self.settings,
                    progress=progress,
                    on_waiting=lambda msg: self._update(message=msg),
                )
            skipped = sum(summary.skipped.values())
            self._update(
                state="completed",
                embedded=summary.embedded,
                skipped=skipped,
                message=(
                    f"scanned {summary.files_seen} files in {summary.seconds:.1f} s: "
                    f"{summary.embedded} embedded, {summary.unchanged} unchanged, "
                    f"{skipped} skipped"
                ),
            )
        except Exception as exc:  # the page must show why, whatever it was
            log.exception("scan of %s failed", self.library)
            self._update(state="failed", message=str(exc) or type(exc).__name__)
        finally:
            self._update(finished_at=time.time())
            self.on_finish()
