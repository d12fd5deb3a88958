"""One writer per library: an exclusive lock file in ``<library>/.photodup/lock``.

Modelled on git's ``index.lock``: the lock is created with ``O_CREAT | O_EXCL`` and holds
who took it (pid, host, command, start time); it is removed on exit. A lock left by a
process that died (same host, pid gone or reused by another program) is stale and is taken
over, under a short ``flock`` on a guard file so two processes never both take over the
same stale lock. Within one process the lock is re-entrant (the CLI holds it around the
whole command, the actions inside take it again), and threads of the process take turns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Same name as ``photodup.finder.store.DATA_DIR_NAME`` (kept here to avoid an import cycle).
_DATA_DIR = ".photodup"
LOCK_NAME = "lock"
_UNREADABLE_GRACE_S = 30.0


class LibraryBusy(RuntimeError):
    """Another photodup process is changing this library; nothing was done."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    command: str
    started_at: float
    proc_start: str = ""  # /proc start time of ``pid``: tells a reused pid apart

    def describe(self) -> str:
        since = dt.datetime.fromtimestamp(self.started_at).strftime("%Y-%m-%d %H:%M:%S")
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{where}, `{self.command}`, since {since}"


def _proc_start(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime) counted after the ")" that ends the command name.
    return stat.rsplit(")", 1)[1].split()[19]


def _me(command: str) -> Holder:
    pid = os.getpid()
    return Holder(pid, socket.gethostname(), command, time.time(), _proc_start(pid))


def _read(path: Path) -> Holder | None:
    try:
        return Holder(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        # Being written this very moment, or garbage: held by an unknown process (see _alive).
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        return Holder(-1, socket.gethostname(), "unknown (unreadable lock file)", mtime)


def _alive(holder: Holder) -> bool:
    if holder.pid == -1:
        # A holder writes its lock within microseconds: one unreadable for long is debris
        # of a process killed between creating and writing it.
        return time.time() - holder.started_at < _UNREADABLE_GRACE_S
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return True  # cannot tell for another host: never take over
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return not holder.proc_start or _proc_start(holder.pid) == holder.proc_start


class LibraryLock:
    """The lock of one library, re-entrant within the process."""

    def __init__(self, library: Path) -> None:
        self.path = library / _DATA_DIR / LOCK_NAME
        self._threads = threading.RLock()
        self._depth = 0
        self._mine: Holder | None = None
        #: Set by recovery once it has run under the current hold (it need not run twice:
        #: nothing else can have interrupted a move while we held the lock).
        self.recovered = False

    def _create(self, me: Holder) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump(me.__dict__, fh)
            fh.flush()
            os.fsync(fh.fileno())
        return True

    def _take_over_stale(self, me: Holder) -> Holder | None:
        """Replace a dead holder's lock with ours; returns the live holder if there is one."""
        guard = self.path.with_name(LOCK_NAME + ".guard")
        with open(guard, "a") as g:
            fcntl.flock(g, fcntl.LOCK_EX)  # short: only while deciding and replacing
            holder = _read(self.path)
            if holder is not None and _alive(holder):
                return holder
            if holder is not None:
                self.path.unlink(missing_ok=True)
            if self._create(me):
                return None
            return _read(self.path) or Holder(-1, "?", "unknown", time.time())

    def acquire(self, command: str) -> None:
        if not self._threads.acquire(timeout=600):
            raise LibraryBusy(f"{self.path}: another thread of this process holds the lock")
        try:
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                me = _me(command)
                if not self._create(me):
                    holder = self._take_over_stale(me)
                    if holder is not None:
                        raise LibraryBusy(
                            f"another photodup ({holder.describe()}) is changing this library"
                            f" ({self.path}); try again when it has finished, or remove the"
                            " lock file if that process is gone"
                        )
                self._mine = me
                self.recovered = False
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            if _read(self.path) == self._mine:
                self.path.unlink(missing_ok=True)
            self._mine = None
        self._threads.release()


_locks: dict[Path, LibraryLock] = {}
_locks_guard = threading.Lock()


def library_lock(library: Path) -> LibraryLock:
    with _locks_guard:
        return _locks.setdefault(library, LibraryLock(library))


@contextlib.contextmanager
def hold_library(library: Path, command: str) -> Iterator[None]:
    """Hold ``library``'s lock for the block; LibraryBusy (nothing done) when another has it."""
    lock = library_lock(library)
    lock.acquire(command)
    try:
        yield
    finally:
        lock.release()


def holds_library(library: Path) -> bool:
    """Whether this process holds ``library``'s lock now."""
    return library_lock(library)._depth > 0
