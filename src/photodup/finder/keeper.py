"""Which photo of a group to keep, and a sentence saying why.

Order: highest resolution; then the original format and the least compression; then camera
metadata present; then earliest capture; the shortest path breaks the remaining ties so the
choice is stable.

"Original format" matters because bytes per pixel mean nothing across formats: a HEIC or PNG
re-save of a camera JPEG is often larger per pixel yet holds no more of the scene. When some
members carry camera metadata (capture time or camera model), their formats are taken as the
original ones and rank first; only when no member says where it came from does a lossless
format rank above a lossy one. Within that, more bytes per pixel means less compression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from photodup.finder.records import Photo

#: Formats that keep every pixel as captured.
_LOSSLESS = frozenset({"PNG", "TIFF", "BMP", "DIB"})

RankKey = tuple[object, ...]


def _lossless(p: Photo) -> bool:
    return p.format.upper() in _LOSSLESS


def _bytes_per_pixel(p: Photo) -> float:
    return p.size / max(p.pixels, 1)


def original_formats(photos: Sequence[Photo]) -> frozenset[str]:
    """Formats of the members that carry camera metadata (empty when none does)."""
    return frozenset(p.format.upper() for p in photos if p.has_metadata)


def rank_key_for(photos: Sequence[Photo]) -> Callable[[Photo], RankKey]:
    """Sort key for members of ``photos``: the best photo sorts first."""
    originals = original_formats(photos)

    def key(p: Photo) -> RankKey:
        not_original = bool(originals) and p.format.upper() not in originals
        return (
            -p.pixels,
            not_original,
            not originals and not _lossless(p),
            -round(_bytes_per_pixel(p), 4),
            not p.has_metadata,
            p.captured_at or "9999",
            len(p.path),
            p.path,
        )

    return key


def _reason(best: Photo, runner_up: Photo, originals: frozenset[str]) -> str:
    if best.pixels != runner_up.pixels:
        return f"highest resolution ({best.width}x{best.height})"
    if originals and (best.format.upper() in originals) != (runner_up.format.upper() in originals):
        return (
            f"same resolution; original format {best.format} (the copies with camera metadata "
            f"are {'/'.join(sorted(originals))}) rather than a {runner_up.format} re-save"
        )
    if not originals and _lossless(best) != _lossless(runner_up):
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
    ranked = sorted(photos, key=rank_key_for(photos))
    if len(ranked) == 1:
        return ranked, "only photo"
    return ranked, _reason(ranked[0], ranked[1], original_formats(photos))
