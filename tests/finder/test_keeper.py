"""Keep-best order: resolution, then compression/format, then metadata, then capture time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PIL import Image

from finder.test_grouping import make_photo
from photodup.finder.keeper import choose_keeper


def test_highest_resolution_wins_over_everything_else() -> None:
    small_png = make_photo(1, width=2000, height=1500, format="PNG", size=9_000_000)
    big_jpeg = make_photo(2, width=4000, height=3000, format="JPEG", size=3_000_000)
    ranked, reason = choose_keeper([small_png, big_jpeg])
    assert ranked[0].id == 2 and reason == "highest resolution (4000x3000)"


def test_same_resolution_prefers_lossless_when_no_member_says_where_it_came_from() -> None:
    jpeg = make_photo(1, format="JPEG", size=40_000)
    png = make_photo(2, format="PNG", size=30_000)
    ranked, reason = choose_keeper([jpeg, png])
    assert ranked[0].id == 2 and "lossless PNG" in reason
    q95 = make_photo(3, format="JPEG", size=5_000)
    q60 = make_photo(4, format="JPEG", size=2_000, captured_at="2020-01-01T00:00:00")
    ranked, reason = choose_keeper([q60, q95])
    assert ranked[0].id == 3 and reason.startswith("same resolution; least compressed (0.50")


def test_the_camera_original_beats_bigger_re_saves_in_other_formats() -> None:
    # The case seen in the review page: a HEIC and a PNG made from the camera JPEG have more
    # bytes per pixel, but the JPEG with the camera's metadata is the original.
    original = make_photo(1, format="JPEG", size=99_000, camera_model="EOS 80D")
    heic = make_photo(2, format="HEIF", size=117_000)
    png = make_photo(3, format="PNG", size=400_000)
    ranked, reason = choose_keeper([heic, png, original])
    assert ranked[0].id == 1
    assert "original format JPEG" in reason
    # Between copies of the original format, compression still decides.
    backup = make_photo(4, format="JPEG", size=99_000)
    q70 = make_photo(5, format="JPEG", size=37_000)
    ranked, _ = choose_keeper([q70, heic, backup, original])
    assert [p.id for p in ranked[:3]] == [1, 4, 5]


def test_then_metadata_then_earliest_capture_then_path() -> None:
    bare = make_photo(1, size=5_000)
    with_exif = make_photo(2, size=5_000, camera_make="Canon", camera_model="EOS 80D")
    ranked, reason = choose_keeper([bare, with_exif])
    assert ranked[0].id == 2 and "camera metadata" in reason
    late = make_photo(3, size=5_000, captured_at="2024-05-02T10:00:00")
    early = make_photo(4, size=5_000, captured_at="2024-05-01T10:00:00")
    ranked, reason = choose_keeper([late, early])
    assert ranked[0].id == 4 and "earliest capture (2024-05-01T10:00:00)" in reason
    a = make_photo(5, size=5_000, path=b"a/long/path/x.jpg")
    b = make_photo(6, size=5_000, path=b"x.jpg")
    ranked, reason = choose_keeper([a, b])
    assert ranked[0].id == 6 and reason == "identical quality; shortest path"


def test_on_a_real_library_the_original_jpeg_is_kept_over_its_png_copy(
    tmp_path: Path, real_photo_images: dict[str, Image.Image]
) -> None:
    """Real files through examine and grouping: the PNG re-save is lossless and 5x larger,
    yet the camera JPEG (with its EXIF) is the original and is kept."""
    from finder.test_actions import _index
    from photodup.finder.grouping import find_groups
    from photodup.finder.sample import camera_exif
    from photodup.finder.settings import FinderSettings

    lib = tmp_path / "library"
    (lib / "camera").mkdir(parents=True)
    (lib / "exports").mkdir()
    img = real_photo_images["chelsea"]
    img.save(lib / "camera/IMG_0001.jpg", "JPEG", quality=90,
             exif=camera_exif(0, datetime(2024, 5, 1, 10, 0, 0)))  # fmt: skip
    Image.open(lib / "camera/IMG_0001.jpg").save(lib / "exports/IMG_0001.png")
    store, photos = _index(lib)
    jpeg, png = photos["camera/IMG_0001.jpg"], photos["exports/IMG_0001.png"]
    assert png.size > 2 * jpeg.size and (png.width, png.height) == (jpeg.width, jpeg.height)
    assert jpeg.has_metadata and not png.has_metadata

    [group] = find_groups(store, FinderSettings(use_embeddings="off"))

    assert [p.display_path for p in group.members] == [jpeg.display_path, png.display_path]
    assert group.keeper_reason.startswith("same resolution; original format JPEG")
    assert group.keeper_reason.endswith("rather than a PNG re-save")
    store.close()
