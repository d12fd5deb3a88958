"""Sorted, paged lists for the page: the one helper every list on it uses.

A list is three things: a snapshot of items (cached by its owner until the data changes),
the sort orders offered for them (:class:`Sorts`), and the query in the URL
(``?sort=&order=&page=&per_page=``, :class:`ListQuery`). Each order is sorted once per
snapshot and kept (:class:`SortedItems`); a page is a slice of it (:func:`paginate`), so a
page's HTML grows with the page size, never with the library. Every order ends with the
item's identity, so it is total: the same snapshot always lists the same items on the same
page, and paging through shows each item exactly once. Bad values in the URL are answered
400 (404 for a page past the end) with a message naming the parameter, never 500.

To add a list: define its ``Sorts``, keep a ``SortedItems`` of its snapshot, call
:func:`list_page` in the route, and render ``list.html`` (see ``groups.html``).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import HTTPException

T = TypeVar("T")
Order = Literal["asc", "desc"]

#: The largest page anyone may ask for: a bound on the HTML and thumbnails of one page.
MAX_PER_PAGE = 200
#: Page sizes the page offers as links (any value from 1 to MAX_PER_PAGE is accepted).
PER_PAGE_CHOICES = (24, 48, 96, 200)
_WHOLE = re.compile(r"[0-9]{1,9}")


class ListQueryError(ValueError):
    """A bad list parameter in the URL or form; ``status`` is the HTTP answer (400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SortOption(Generic[T]):
    """One order a list offers. ``value`` may return a tuple (ties broken by what follows)."""

    name: str  # the URL value
    label: str
    value: Callable[[T], Any]
    default_order: Order = "desc"
    #: What each direction puts first, as the direction link says it.
    desc_hint: str = "largest first"
    asc_hint: str = "smallest first"

    def hint(self, order: Order) -> str:
        return self.desc_hint if order == "desc" else self.asc_hint


class Sorts(Generic[T]):
    """The orders a list offers, the first being the default unless ``default`` is given."""

    def __init__(self, *options: SortOption[T], default: str | None = None) -> None:
        if not options:
            raise ValueError("a list needs at least one sort order")
        self.options = options
        self._by_name = {o.name: o for o in options}
        self.default = default or options[0].name
        if self.default not in self._by_name:
            raise ValueError(f"default sort {self.default!r} is not one of {self.names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def __iter__(self) -> Iterator[SortOption[T]]:
        return iter(self.options)

    def __getitem__(self, name: str) -> SortOption[T]:
        return self._by_name[name]

    def get(self, name: str) -> SortOption[T] | None:
        return self._by_name.get(name)


@dataclass(frozen=True)
class ListQuery:
    """Where a person is in a list: the order, the page and its size (all in the URL)."""

    sort: str
    order: Order
    page: int
    per_page: int
    sorts: Sorts[Any]
    default_per_page: int

    @property
    def option(self) -> SortOption[Any]:
        return self.sorts[self.sort]

    def params(self, **changes: Any) -> dict[str, str]:
        """The URL parameters, defaults left out so links stay short."""
        q = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        if q.sort != self.sorts.default:
            out["sort"] = q.sort
        if q.order != q.option.default_order:
            out["order"] = q.order
        if q.page != 1:
            out["page"] = str(q.page)
        if q.per_page != self.default_per_page:
            out["per_page"] = str(q.per_page)
        return out

    def suffix(self, **changes: Any) -> str:
        """``?sort=..&..`` (or nothing) for a link that keeps this query."""
        params = self.params(**changes)
        return f"?{urlencode(params)}" if params else ""

    def with_sort(self, name: str) -> ListQuery:
        """Another order, in its natural direction, from the first page."""
        return replace(self, sort=name, order=self.sorts[name].default_order, page=1)


def _whole(params: Mapping[str, str], name: str, default: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    limit = f" to {high}" if high is not None else " or more"
    if not _WHOLE.fullmatch(raw) or int(raw) < 1 or (high is not None and int(raw) > high):
        raise ListQueryError(f"{name} must be a whole number from 1{limit}; got {raw!r}")
    return int(raw)


def parse_query(params: Mapping[str, str], sorts: Sorts[Any], default_per_page: int) -> ListQuery:
    """The list query in ``params`` (URL query or form); ListQueryError names a bad value."""
    sort = params.get("sort", sorts.default)
    option = sorts.get(sort)
    if option is None:
        raise ListQueryError(f"unknown sort {sort!r}; choose one of {', '.join(sorts.names)}")
    order = params.get("order", option.default_order)
    if order not in ("asc", "desc"):
        raise ListQueryError(f"order must be asc or desc; got {order!r}")
    return ListQuery(
        sort=sort,
        order=order,  # type: ignore[arg-type]  # checked just above
        page=_whole(params, "page", 1, None),
        per_page=_whole(params, "per_page", default_per_page, MAX_PER_PAGE),
        sorts=sorts,
        default_per_page=default_per_page,
    )


def http_query(params: Mapping[str, str], sorts: Sorts[Any], default_per_page: int) -> ListQuery:
    """:func:`parse_query` for a route: a bad value is an HTTP 400 naming it."""
    try:
        return parse_query(params, sorts, default_per_page)
    except ListQueryError as exc:
        raise HTTPException(exc.status, str(exc)) from None


class SortedItems(Generic[T]):
    """An immutable snapshot of items with each order built on first use and then kept.

    Thread-safe: pages are served from the thread pool. ``ident`` (unique per item) ends
    every sort key, so each order is total and ``asc`` is exactly ``desc`` reversed.
    """

    def __init__(self, items: Sequence[T], sorts: Sorts[T], ident: Callable[[T], str]) -> None:
        self.sorts = sorts
        self.ident = ident
        self._items = tuple(items)
        self._lock = threading.Lock()
        self._orders: dict[tuple[str, Order], tuple[T, ...]] = {}
        self._positions: dict[tuple[str, Order], dict[str, int]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def ordered(self, sort: str, order: Order) -> tuple[T, ...]:
        with self._lock:
            found = self._orders.get((sort, order))
            if found is None:
                value, ident = self.sorts[sort].value, self.ident
                found = tuple(
                    sorted(self._items, key=lambda x: (value(x), ident(x)), reverse=order == "desc")
                )
                self._orders[(sort, order)] = found
            return found

    def position(self, ident: str, sort: str, order: Order) -> int | None:
        """The 0-based place of the item ``ident`` in that order; None if it is not listed."""
        ordered = self.ordered(sort, order)
        with self._lock:
            positions = self._positions.get((sort, order))
            if positions is None:
                positions = {self.ident(x): i for i, x in enumerate(ordered)}
                self._positions[(sort, order)] = positions
        return positions.get(ident)


@dataclass(frozen=True)
class SortLink:
    name: str
    label: str
    url: str
    active: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a sorted list, with everything its links need."""

    items: tuple[T, ...]
    total: int
    query: ListQuery
    path: str

    @property
    def number(self) -> int:
        return self.query.page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))

    @property
    def start(self) -> int:
        """0-based position of the first item of this page in the whole order."""
        return (self.number - 1) * self.query.per_page

    @property
    def first(self) -> int:  # 1-based, for "showing 49-96 of 10,000"
        return self.start + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.start + len(self.items)

    def url(self, page: int | None = None, **changes: Any) -> str:
        if page is not None:
            changes["page"] = page
        return self.path + self.query.suffix(**changes)

    @property
    def prev_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None

    def window(self, radius: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and those near this one; None is a gap."""
        near = set(range(self.number - radius, self.number + radius + 1))
        shown = sorted(n for n in {1, self.pages, *near} if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in shown:
            before = out[-1] if out else None
            if before is not None and n - before == 2:
                out.append(n - 1)  # a gap of one page: show it rather than "…"
            elif before is not None and n - before > 2:
                out.append(None)
            out.append(n)
        return out

    def sort_links(self) -> list[SortLink]:
        return [
            SortLink(
                o.name,
                o.label,
                self.path + self.query.with_sort(o.name).suffix(),
                o.name == self.query.sort,
            )
            for o in self.query.sorts
        ]

    @property
    def reverse_url(self) -> str:
        """The same order the other way round, from the first page."""
        flipped: Order = "asc" if self.query.order == "desc" else "desc"
        return self.url(1, order=flipped)

    def per_page_links(self) -> list[tuple[int, str, bool]]:
        choices = sorted({*PER_PAGE_CHOICES, self.query.per_page})
        return [(n, self.url(1, per_page=n), n == self.query.per_page) for n in choices]


def paginate(items: SortedItems[T], query: ListQuery, path: str) -> Page[T]:
    """The page ``query`` asks for; ListQueryError (404) for a page past the end."""
    ordered = items.ordered(query.sort, query.order)
    pages = max(1, math.ceil(len(ordered) / query.per_page))
    if query.page > pages:
        raise ListQueryError(
            f"page {query.page} does not exist: {len(ordered):,} item(s) make {pages:,} "
            f"page(s) of {query.per_page}",
            status=404,
        )
    start = (query.page - 1) * query.per_page
    return Page(ordered[start : start + query.per_page], len(ordered), query, path)


def list_page(
    params: Mapping[str, str], items: SortedItems[T], default_per_page: int, path: str
) -> Page[T]:
    """Parse the query and cut the page: what a list route calls; HTTP 400/404 when bad."""
    try:
        return paginate(items, parse_query(params, items.sorts, default_per_page), path)
    except ListQueryError as exc:
        raise HTTPException(exc.status, str(exc)) from None
