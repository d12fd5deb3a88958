"""After a kill and recovery: every file in exactly one place, and the journal agrees."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from photodup.faults.library import contents
from photodup.finder.filemoves import sha256_file
from photodup.finder.journal import abs_path
from photodup.finder.store import Store


@dataclass
class Verdict:
    files_checked: int = 0
    lost: int = 0  # expected contents found nowhere (must be 0)
    extra: int = 0  # a content found more often than it was (a copy left behind)
    stray: int = 0  # files whose content is no photo of ours (partial copies, claims)
    journal: list[str] = field(default_factory=list)  # rows that disagree with the disk

    @property
    def ok(self) -> bool:
        return not (self.lost or self.extra or self.stray or self.journal)

    def describe(self) -> str:
        return (
            f"{self.files_checked} files, {self.lost} lost, {self.extra} extra, {self.stray}"
            f" stray, {len(self.journal)} journal mismatches {self.journal[:3]}"
        )


def _is(path: Path, sha: str | None) -> bool:
    return path.is_file() and not path.is_symlink() and (sha is None or sha256_file(path) == sha)


def check(library: Path, quarantine: Path, expected: Counter[str]) -> Verdict:
    found = contents(library, quarantine)
    v = Verdict(files_checked=sum(found.values()))
    v.lost = sum(max(0, n - found[sha]) for sha, n in expected.items())
    v.extra = sum(max(0, found[sha] - n) for sha, n in expected.items())
    v.stray = sum(n for sha, n in found.items() if sha not in expected)
    with Store.open(library) as store:
        rows = store.conn.execute("SELECT * FROM moves ORDER BY id").fetchall()
        held = {bytes(r["dst_path"]) for r in rows if r["status"] == "done"}
        # Only the latest move of each file says where it is now.
        latest = {bytes(r["src_path"]): r for r in rows}
        for r in latest.values():
            src = abs_path(store.library, bytes(r["src_path"]))
            dst = Path(os.fsdecode(r["dst_path"]))
            status = r["status"]
            if status == "done":
                agrees = _is(dst, r["sha256"]) and not src.exists()
            elif status in ("restored", "failed"):
                # Back (or never gone) at the original path; nothing left at the claimed one.
                # (A later move may hold the same quarantine name.)
                left = bytes(r["dst_path"]) not in held and _is(dst, r["sha256"])
                agrees = _is(src, r["sha256"]) and not left
            else:
                agrees = False  # still in flight after recovery
            if not agrees:
                v.journal.append(f"move {r['id']} {r['src_display']}: {status}")
    return v
