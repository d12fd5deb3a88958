"""The groups as the page shows them, computed once and reused until something changes.

Grouping reads the whole index, so its result is kept as a :class:`GroupSnapshot`: a view
of every group (members point at the ``Photo`` rows grouping read; nothing is copied), each
list order sorted on first use and kept, positions by key for the group view's
previous/next, and the totals the header shows. A page then costs a stamp query and a
slice. The snapshot is keyed on a cheap stamp of everything that changes groups (the latest
scan run's progress, the journal of actions, the dismissals), so changes made by another
process (``photodup scan``, ``resolve``, ``undo``) show up too; actions taken here and the
page's own scan also call :meth:`GroupIndex.invalidate`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from photodup.finder.grouping import find_grouping
from photodup.finder.groups import Group
from photodup.finder.records import Photo
from photodup.finder.settings import FinderSettings
from photodup.finder.store import Store
from photodup.finder.verify.decide import KIND_LABELS
from photodup.ui.paging import SortedItems, SortOption, Sorts

log = logging.getLogger(__name__)


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


Outline = tuple[tuple[float, float], ...]  # fractions of the photo's width and height


def _area(outline: Outline) -> float:
    """Shoelace area of an outline, in fractions of the photo."""
    pts = list(outline)
    return (
        abs(
            sum(
                x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True)
            )
        )
        / 2
    )


@dataclass(frozen=True)
class PairView:
    a: int  # member numbers
    b: int
    signal: str
    score: float
    kind: str | None = None
    words: str = ""  # the verification evidence in words
    region_a: Outline = ()  # the region photo a shares with photo b, and the other way
    region_b: Outline = ()

    @property
    def kind_text(self) -> str:
        return KIND_LABELS.get(self.kind or "", "")

    @property
    def score_text(self) -> str:
        if self.words:
            return self.words
        if self.signal == "sha256":
            return "byte-identical"
        if self.signal == "phash":
            return f"{self.score:.0f} of 64 bits differ"
        if self.signal == "similar":
            return "same scene, another shot"
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
    def outlines(self) -> dict[int, Outline]:
        """Member number -> the region drawn over its photo: for each photo what it shares
        with the suggested keeper (member 1); for the keeper the smallest region it shares
        with anyone (the tightest crop says most). Others: their first verified pair."""
        out: dict[int, Outline] = {}
        keeper: list[Outline] = []
        for p in self.pairs:
            if not (p.region_a and p.region_b):
                continue
            if p.a == 1:
                out[p.b] = p.region_b
                keeper.append(p.region_a)
        for p in self.pairs:
            if p.region_a and p.region_b:
                out.setdefault(p.a, p.region_a)
                out.setdefault(p.b, p.region_b)
        if keeper:
            out[1] = min(keeper, key=_area)
        return out

    @property
    def suggested_name(self) -> str:
        return next(m.photo.display_path for m in self.members if m.suggested)

    @property
    def largest(self) -> int:
        """Size in bytes of the group's largest file."""
        return max(m.photo.size for m in self.members)

    @classmethod
    def of(cls, group: Group) -> GroupView:
        number = {p.id: i + 1 for i, p in enumerate(group.members)}
        members = [MemberView(p, number[p.id], i == 0) for i, p in enumerate(group.members)]
        pairs = []
        for x in group.pairs:
            a, b = number[x.a], number[x.b]
            ev = x.evidence
            regions = (ev.region_a, ev.region_b) if ev is not None else ((), ())
            if a > b:
                a, b, regions = b, a, (regions[1], regions[0])
            pairs.append(PairView(a, b, x.signal, x.score, x.kind, x.words, *regions))
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


def _path_key(g: GroupView) -> tuple[str, str]:
    name = g.suggested_name
    return (name.casefold(), name)


#: The orders the group list offers. Ties fall to the next value, then to the group key.
GROUP_SORTS: Sorts[GroupView] = Sorts(
    SortOption("space", "Space saved", lambda g: g.reclaimable,
               desc_hint="most space first", asc_hint="least space first"),
    SortOption("similarity", "Similarity", lambda g: (g.similarity, g.reclaimable),
               desc_hint="most similar first", asc_hint="least similar first"),
    SortOption("photos", "Photos", lambda g: (len(g.members), g.reclaimable),
               desc_hint="most photos first", asc_hint="fewest photos first"),
    SortOption("size", "File size", lambda g: (g.largest, g.reclaimable),
               desc_hint="largest file first", asc_hint="smallest file first"),
    SortOption("path", "Path", _path_key, "asc", desc_hint="Z to A", asc_hint="A to Z"),
)  # fmt: skip
SORTS = GROUP_SORTS.names


@dataclass(frozen=True)
class GroupSnapshot:
    """The groups at one moment: every order the list offers, by key, and the totals."""

    items: SortedItems[GroupView]
    by_key: dict[str, GroupView]
    reclaimable: int
    stamp: object
    computed_at: float  # time.monotonic()
    seconds: float  # how long grouping took
    #: similar shots (bursts, the same scene again): never duplicates, their own page
    similar: SortedItems[GroupView] | None = None

    @property
    def count(self) -> int:
        return len(self.by_key)

    @classmethod
    def of(
        cls, groups: list[Group], stamp: object, seconds: float, similar: Sequence[Group] = ()
    ) -> GroupSnapshot:
        views = [GroupView.of(g) for g in groups]
        shots = [GroupView.of(g) for g in similar]
        return cls(
            items=SortedItems(views, GROUP_SORTS, ident=lambda g: g.key),
            by_key={v.key: v for v in views},
            reclaimable=sum(v.reclaimable for v in views),
            stamp=stamp,
            computed_at=time.monotonic(),
            seconds=seconds,
            similar=SortedItems(shots, GROUP_SORTS, ident=lambda g: g.key),
        )


def _scan_progress_only(old: object, new: object) -> bool:
    """True if the only change is the progress of the same, still running scan."""
    if not (isinstance(old, tuple) and isinstance(new, tuple)):
        return False
    (gen_a, scan_a, journal_a), (gen_b, scan_b, journal_b) = old, new
    if gen_a != gen_b or journal_a != journal_b or scan_a is None or scan_b is None:
        return False
    return bool(scan_a[0] == scan_b[0] and scan_a[1] == scan_b[1] == "running")


class GroupIndex:
    """Grouping is the expensive part (it reads the whole index): computed once per change.

    A snapshot is reused until the stamp changes. While a scan runs the stamp changes with
    every committed batch; regrouping a large library that often would make every page wait
    for it, so during a scan the groups are recomputed at most every ``scan_refresh_s``
    (or ten times the last grouping time, if longer). Actions ask for ``fresh=True``.
    """

    def __init__(
        self, store: Store, settings: FinderSettings, *, scan_refresh_s: float = 5.0
    ) -> None:
        self.store = store
        self.settings = settings
        self.scan_refresh_s = scan_refresh_s
        self._lock = threading.Lock()
        self._cached: GroupSnapshot | None = None
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

    def _recent(self, cached: GroupSnapshot, stamp: object) -> bool:
        """Good enough while a scan runs: only its progress changed, and not long ago."""
        age = time.monotonic() - cached.computed_at
        return _scan_progress_only(cached.stamp, stamp) and age < max(
            self.scan_refresh_s, 10 * cached.seconds
        )

    def snapshot(self, *, fresh: bool = False) -> GroupSnapshot:
        """The current groups; ``fresh`` never serves groups from before a scan's progress."""
        with self._lock:
            with self.store.lock:
                stamp = self._stamp()
            cached = self._cached
            if cached is not None and (
                cached.stamp == stamp or (not fresh and self._recent(cached, stamp))
            ):
                return cached
            started = time.perf_counter()
            with self.store.lock:
                found = find_grouping(self.store, self.settings)
            groups = found.duplicates
            seconds = time.perf_counter() - started
            self._cached = GroupSnapshot.of(groups, stamp, seconds, found.similar)
            log.debug("grouped the library into %d groups in %.2f s", len(groups), seconds)
            return self._cached

    def all(self, sort: str = "space") -> tuple[GroupView, ...]:
        """Every group in one of the list's orders (its natural direction)."""
        return self.snapshot().items.ordered(sort, GROUP_SORTS[sort].default_order)
