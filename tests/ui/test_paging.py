"""The paging helper every list uses: query parsing, total orders, pages and their links."""

from __future__ import annotations

import pytest

from photodup.ui.paging import (
    MAX_PER_PAGE,
    ListQuery,
    ListQueryError,
    SortedItems,
    SortOption,
    Sorts,
    paginate,
    parse_query,
)

# Items: (name, size, count). Sizes tie on purpose, so the order must fall back to name.
ITEMS = [(f"item-{i:03d}", i % 7, i % 3) for i in range(103)]
SORTS: Sorts[tuple[str, int, int]] = Sorts(
    SortOption("size", "Size", lambda x: x[1]),
    SortOption("count", "Count", lambda x: (x[2], x[1])),
    SortOption("name", "Name", lambda x: x[0], "asc"),
)


def items() -> SortedItems[tuple[str, int, int]]:
    return SortedItems(ITEMS, SORTS, ident=lambda x: x[0])


def query(**params: str) -> ListQuery:
    return parse_query(params, SORTS, default_per_page=10)


def test_defaults_come_from_the_sorts_and_the_page_size() -> None:
    q = query()
    assert (q.sort, q.order, q.page, q.per_page) == ("size", "desc", 1, 10)
    assert query(sort="name").order == "asc"  # each sort has its natural direction
    assert q.suffix() == ""  # defaults stay out of links


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({"page": "0"}, 400, "page"),
        ({"page": "-1"}, 400, "page"),
        ({"page": "abc"}, 400, "page"),
        ({"page": "1.0"}, 400, "page"),
        ({"page": " 1"}, 400, "page"),
        ({"page": ""}, 400, "page"),
        ({"page": "9" * 40}, 400, "page"),
        ({"per_page": "0"}, 400, "per_page"),
        ({"per_page": str(MAX_PER_PAGE + 1)}, 400, "per_page"),
        ({"sort": "bogus"}, 400, "sort"),
        ({"order": "up"}, 400, "order"),
        ({"order": "ASC"}, 400, "order"),
    ],
)
def test_bad_values_are_refused_with_their_name(
    params: dict[str, str], status: int, named: str
) -> None:
    with pytest.raises(ListQueryError) as err:
        query(**params)
    assert err.value.status == status
    assert named in str(err.value) and repr(next(iter(params.values()))) in str(err.value)


def test_a_page_past_the_end_is_404_and_an_empty_list_has_one_page() -> None:
    with pytest.raises(ListQueryError, match="page 12 does not exist") as err:
        paginate(items(), query(page="12"), "/x")
    assert err.value.status == 404
    empty = paginate(SortedItems([], SORTS, ident=lambda x: x[0]), query(), "/x")
    assert (empty.pages, empty.items, empty.first, empty.last) == (1, (), 0, 0)


@pytest.mark.parametrize("sort", SORTS.names)
def test_paging_through_lists_every_item_once_in_sort_order(sort: str) -> None:
    data = items()
    for order in ("asc", "desc"):
        seen = []
        for n in range(1, 12):
            page = paginate(data, query(sort=sort, order=order, page=str(n)), "/x")
            assert len(page.items) == (10 if n < 11 else 3)
            assert (page.first, page.last) == ((n - 1) * 10 + 1, (n - 1) * 10 + len(page.items))
            seen.extend(page.items)
        assert sorted(seen) == sorted(ITEMS)  # each exactly once
        keys = [(SORTS[sort].value(x), x[0]) for x in seen]
        assert keys == sorted(keys, reverse=order == "desc")
    # A total order: ascending is exactly descending reversed, ties included.
    assert data.ordered(sort, "asc") == data.ordered(sort, "desc")[::-1]


def test_positions_follow_each_order() -> None:
    data = items()
    for sort in SORTS.names:
        ordered = data.ordered(sort, "desc")
        assert [data.position(x[0], sort, "desc") for x in ordered] == list(range(len(ITEMS)))
    assert data.position("missing", "size", "desc") is None


def test_links_keep_the_query_and_leave_defaults_out() -> None:
    page = paginate(items(), query(sort="count", page="5", per_page="20"), "/x")
    assert page.pages == 6
    assert page.prev_url == "/x?sort=count&page=4&per_page=20"
    assert page.next_url == "/x?sort=count&page=6&per_page=20"
    assert page.url(1) == "/x?sort=count&per_page=20"
    assert page.reverse_url == "/x?sort=count&order=asc&per_page=20"
    links = {s.name: s for s in page.sort_links()}
    assert links["name"].url == "/x?sort=name&per_page=20" and links["count"].active
    assert links["size"].url == "/x?per_page=20"  # the default sort, from page 1
    sizes = {n: url for n, url, _ in page.per_page_links()}
    assert sizes[48] == "/x?sort=count&per_page=48" and 20 in sizes
    last = paginate(items(), query(page="11"), "/x")
    assert last.next_url is None and last.prev_url == "/x?page=10"


@pytest.mark.parametrize(
    ("number", "pages", "window"),
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 209, [1, 2, 3, None, 209]),
        (5, 209, [1, 2, 3, 4, 5, 6, 7, None, 209]),
        (100, 209, [1, None, 98, 99, 100, 101, 102, None, 209]),
        (209, 209, [1, None, 207, 208, 209]),
    ],
)
def test_page_number_window(number: int, pages: int, window: list[int | None]) -> None:
    data = SortedItems([(f"{i:04d}", 0, 0) for i in range(pages)], SORTS, ident=lambda x: x[0])
    page = paginate(data, parse_query({"page": str(number)}, SORTS, 1), "/x")
    assert page.pages == pages and page.window() == window
