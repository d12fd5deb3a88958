"""CPU seconds and peak memory of process trees, read from ``/proc`` (Linux).

A sampler thread walks the descendants of the given root pids every ``interval_s`` and keeps,
per process, its name, its peak resident memory (``VmHWM``, exact up to the last sample) and
its CPU seconds (user + system, as of the last sample). Processes that come and go between
two samples (none in a scan: workers live for the whole scan) would be missed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class ProcSample:
    pid: int
    name: str
    peak_rss_mib: float = 0.0
    cpu_s: float = 0.0


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(name, parent pid, CPU seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    name = raw[raw.index(b"(") + 1 : raw.rindex(b")")].decode(errors="replace")
    fields = raw[raw.rindex(b")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants right now."""
    return sum(s.cpu_s for s in _snapshot({root}).values())


def _snapshot(roots: set[int]) -> dict[int, ProcSample]:
    parents: dict[int, int] = {}
    info: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                info[int(entry)] = (found[0], found[2])
                parents[int(entry)] = found[1]
    inside = {pid for pid in roots if pid in info}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in inside and pid not in inside}
        inside |= more
        grew = bool(more)
    return {
        pid: ProcSample(pid, info[pid][0], _hwm_mib(pid), info[pid][1]) for pid in sorted(inside)
    }


@dataclass
class TreeSampler:
    """Samples the trees of ``roots`` in a thread between ``start()`` and ``stop()``."""

    roots: set[int]
    interval_s: float = 0.2
    seen: dict[int, ProcSample] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for pid, now in _snapshot(self.roots).items():
            old = self.seen.get(pid)
            if old is None:
                self.seen[pid] = now
            else:
                old.peak_rss_mib = max(old.peak_rss_mib, now.peak_rss_mib)
                old.cpu_s, old.name = now.cpu_s, now.name

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> TreeSampler:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="proc-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return [asdict(s) for s in self.seen.values()]
