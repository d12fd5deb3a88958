"""The groups as the page shows them, computed once and reused until something changes.

Grouping reads the whole index, so it is cached. The cache is keyed on a cheap stamp of
everything that changes groups (the latest scan run's progress, the journal of actions,
the dismissals), so changes made by another process (``photodup scan``, ``resolve``,
``undo``) show up too; actions taken here also call :meth:`GroupIndex.invalidate`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from photodup.finder.grouping import find_groups
from photodup.finder.groups import Group
from photodup.finder.records import Photo
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Store

#: Sort orders offered on the group list.
SORTS = ("space", "similarity", "size")


@dataclass(frozen=True)
class MemberView:
    photo: Photo
    number: int  # 1-based, what the 1-9 keys pick
    suggested: bool

    @property
    def camera(self) -> str | None:
        parts = [self.photo.camera_make, self.photo.camera_model]
        make, model = parts
        if make and model and model.lower().startswith(make.lower()):
            return model  # "Canon Canon EOS 80D" reads badly
        return " ".join(x for x in parts if x) or None


@dataclass(frozen=True)
class PairView:
    a: int  # member numbers
    b: int
    signal: str
    score: float

    @property
    def score_text(self) -> str:
        if self.signal == "sha256":
            return "byte-identical"
        if self.signal == "phash":
            return f"{self.score:.0f} of 64 bits differ"
        return f"cosine {self.score:.3f}"


@dataclass(frozen=True)
class GroupView:
    key: str
    kind: str
    members: list[MemberView]
    pairs: list[PairView]
    keeper_reason: str
    reclaimable: int
    similarity: float

    @property
    def signals(self) -> list[str]:
        order = {"sha256": 0, "phash": 1, "embedding": 2, "burst": 3}
        return sorted({p.signal for p in self.pairs}, key=lambda s: order.get(s, 9))

    @property
    def suggested_name(self) -> str:
        return next(m.photo.display_path for m in self.members if m.suggested)

    @classmethod
    def of(cls, group: Group) -> GroupView:
        number = {p.id: i + 1 for i, p in enumerate(group.members)}
        members = [MemberView(p, number[p.id], i == 0) for i, p in enumerate(group.members)]
        pairs = []
        for x in group.pairs:
            a, b = sorted((number[x.a], number[x.b]))
            pairs.append(PairView(a, b, x.signal, x.score))
        pairs.sort(key=lambda x: (x.a, x.b, x.signal))
        return cls(
            key=group.key,
            kind=group.kind,
            members=members,
            pairs=pairs,
            keeper_reason=group.keeper_reason,
            reclaimable=group.bytes_reclaimable,
            similarity=group.min_similarity,
        )


def sort_groups(groups: list[GroupView], sort: str) -> list[GroupView]:
    if sort == "similarity":
        return sorted(groups, key=lambda g: (-g.similarity, -g.reclaimable, g.key))
    if sort == "size":
        return sorted(groups, key=lambda g: (-len(g.members), -g.reclaimable, g.key))
    return sorted(groups, key=lambda g: (-g.reclaimable, g.key))


class GroupIndex:
    def __init__(self, store: Store, settings: FinderSettings) -> None:
        self.store = store
        self.settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[object, list[GroupView]] | None = None
        self._generation = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cached = None

    def _stamp(self) -> object:
        """Changes whenever the groups may have: here, or by a CLI scan/resolve/undo elsewhere."""
        run = self.store.latest_run()
        scan = (run.id, run.state, run.embedded, run.removed) if run else None
        journal = tuple(
            self.store.conn.execute(
                "SELECT (SELECT coalesce(max(id), 0) FROM actions),"
                " (SELECT count(undone_at) FROM actions),"
                " (SELECT count(*) FROM moves WHERE status IN ('done', 'pending')),"
                " (SELECT coalesce(max(id), 0) FROM dismissals),"
                " (SELECT count(*) FROM dismissals)"
            ).fetchone()
        )
        return (self._generation, scan, journal)

    def all(self, sort: str = "space") -> list[GroupView]:
        with self._lock:
            with self.store.lock:
                stamp = self._stamp()
                if self._cached is None or self._cached[0] != stamp:
                    groups = find_groups(self.store, self.settings)
                    self._cached = (stamp, [GroupView.of(g) for g in groups])
            return sort_groups(self._cached[1], sort)
