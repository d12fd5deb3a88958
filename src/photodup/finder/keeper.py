"""Which photo of a group to keep, and a sentence saying why.

Order: highest resolution, then least compressed (a lossless format before a lossy one,
then more bytes per pixel), then camera metadata present, then earliest capture; the
shortest path breaks the remaining ties so the choice is stable.
"""

from __future__ import annotations

from collections.abc import Sequence

from photodup.finder.records import Photo

#: Formats that keep every pixel as captured rank above lossy ones.
_LOSSLESS = frozenset({"PNG", "TIFF", "BMP", "DIB"})


def _lossless(p: Photo) -> bool:
    return p.format.upper() in _LOSSLESS


def _bytes_per_pixel(p: Photo) -> float:
    return p.size / max(p.pixels, 1)


def rank_key(p: Photo) -> tuple[object, ...]:
    """Sort key: the best photo sorts first."""
    return (
        -p.pixels,
        not _lossless(p),
        -round(_bytes_per_pixel(p), 4),
        not p.has_metadata,
        p.captured_at or "9999",
        len(p.path),
        p.path,
    )


def _reason(best: Photo, runner_up: Photo) -> str:
    if best.pixels != runner_up.pixels:
        return f"highest resolution ({best.width}x{best.height})"
    if _lossless(best) != _lossless(runner_up):
        return f"same resolution; lossless {best.format} rather than {runner_up.format}"
    if round(_bytes_per_pixel(best), 4) != round(_bytes_per_pixel(runner_up), 4):
        return (
            f"same resolution; least compressed ({_bytes_per_pixel(best):.2f} bytes/pixel vs "
            f"{_bytes_per_pixel(runner_up):.2f})"
        )
    if best.has_metadata != runner_up.has_metadata:
        return "same resolution and compression; keeps the camera metadata"
    if best.captured_at != runner_up.captured_at:
        return f"same resolution and compression; earliest capture ({best.captured_at})"
    return "identical quality; shortest path"


def choose_keeper(photos: Sequence[Photo]) -> tuple[list[Photo], str]:
    """Return the photos best first, and why the first one is kept."""
    if not photos:
        raise ValueError("cannot choose a keeper in an empty group")
    ranked = sorted(photos, key=rank_key)
    if len(ranked) == 1:
        return ranked, "only photo"
    return ranked, _reason(ranked[0], ranked[1])
