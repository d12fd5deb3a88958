"""Geometric verification on real photos with the real OpenCV: what it accepts, what not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from photodup.finder.derive import derive
from photodup.finder.sources import load_real_photo
from photodup.finder.verify.decide import Rule, decide, describe, link_kind
from photodup.finder.verify.features import (
    Features,
    compute_features,
    extract,
    pack,
    unpack,
    variant_hashes,
)
from photodup.finder.verify.match import Evidence, verify_pair
from photodup.imaging import load_photo


def _features(img: Image.Image) -> Features:
    return compute_features(img)


def _copy(img: Image.Image, kind: str) -> Features:
    return _features(load_photo(derive(img, kind)[0]))


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return load_real_photo("astronaut").convert("RGB")


@pytest.fixture(scope="module")
def original(astronaut: Image.Image) -> Features:
    return _features(astronaut)


def test_features_pack_small_and_round_trip(astronaut: Image.Image) -> None:
    extracted = extract(astronaut)
    f = extracted.features
    assert len(f.points) == 208 and len(f.mirror_points) == 80 and max(f.width, f.height) == 480
    data = pack(f)
    # The index budget is 16 KB a photo, the 2 KB embedding included.
    assert len(data) <= 10.5 * 1024
    back = unpack(data)
    assert np.array_equal(back.descriptors, f.descriptors)
    assert np.abs(back.points - f.points).max() <= 1 / 64
    with pytest.raises(ValueError, match="bytes"):
        unpack(data[:-1])
    mirrored = variant_hashes(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT))[0]
    assert mirrored != extracted.variant_hashes[0]


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [("jpeg_q40", 0.97, 1.0), ("crop_30", 0.45, 0.53), ("screenshot", 0.97, 1.0)],
)
def test_copies_are_verified_with_their_coverage(
    astronaut: Image.Image, original: Features, kind: str, low: float, high: float
) -> None:
    ev = verify_pair(original, _copy(astronaut, kind))
    assert decide(ev).duplicate, ev
    # coverage_a: how much of the original the copy shows (a 30 % crop: 0.7 * 0.7).
    assert low <= ev.coverage_a <= high, ev
    assert not ev.mirrored
    assert len(ev.region_a) >= 3 and all(0 <= x <= 1.001 for pt in ev.region_a for x in pt)


def test_mirror_and_turn_are_found_and_labelled(astronaut: Image.Image, original: Features) -> None:
    flip = verify_pair(original, _copy(astronaut, "flip"))
    assert decide(flip).duplicate and flip.mirrored
    assert link_kind(flip, same_pixels=False, edited=True) == "mirrored_rotated"
    assert "mirrored" in describe(flip)
    turned = verify_pair(original, _copy(astronaut, "rotate_90"))
    assert decide(turned).duplicate and abs(abs(turned.rotation) - 90) < 2, turned
    straight = verify_pair(original, _copy(astronaut, "straighten"))
    assert decide(straight).duplicate and 2.5 < abs(straight.rotation) < 5.5, straight


@pytest.mark.parametrize("negative", ["tile_0", "tile_3", "detail"])
def test_parts_of_a_photo_are_not_duplicates(negative: str) -> None:
    for name in ("astronaut", "coffee", "chelsea"):
        img = load_real_photo(name).convert("RGB")
        ev = verify_pair(_features(img), _copy(img, negative))
        verdict = decide(ev)
        assert not verdict.duplicate and not verdict.similar, (name, ev)
        # Where enough points agree it *is* the same content, but only a part of it.
        if ev.inliers >= 15:
            assert ev.coverage_a < 0.3 and "shared area" in verdict.reason, (name, ev)


def test_different_photos_do_not_match(original: Features) -> None:
    for name in ("coffee", "chelsea", "brick", "grass"):
        ev = verify_pair(original, _features(load_real_photo(name)))
        assert not decide(ev).duplicate, (name, ev)
        assert ev.inliers < 15, (name, ev)


def test_the_stereo_pair_is_a_similar_shot_by_capture_time() -> None:
    left = _features(load_real_photo("motorcycle_left"))
    right = _features(load_real_photo("motorcycle_right"))
    ev = verify_pair(left, right)
    # Geometry alone: the same scene over most of both frames ...
    assert ev.inliers >= 15 and min(ev.coverage_a, ev.coverage_b) > 0.8, ev
    # ... and the parallax leaves matches just off the fit, which copies do not.
    assert ev.near_miss > 0.2, ev
    verdict = decide(ev, time_gap_s=1.0)
    assert verdict.similar and not verdict.duplicate and "1 s apart" in verdict.reason
    assert decide(ev, Rule(max_near_miss=0.2)).similar


def _image(mode: str, size: tuple[int, int], colour: object) -> Image.Image:
    return Image.new(mode, size, colour)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "img",
    [
        _image("RGB", (1, 1), (200, 10, 10)),
        _image("RGB", (640, 480), (90, 90, 90)),  # single colour: no keypoints
        _image("L", (3, 2000), 128),
    ],
    ids=["1x1", "flat", "sliver"],
)
def test_photos_without_points_verify_to_nothing(img: Image.Image, original: Features) -> None:
    f = extract(img).features
    assert f.empty
    assert unpack(pack(f)).empty
    ev = verify_pair(original, f)
    assert ev.inliers == 0 and not decide(ev).duplicate
    assert verify_pair(f, f).inliers == 0


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "P", "RGBA", "LA"])
def test_odd_modes_decode_to_the_same_features(astronaut: Image.Image, mode: str) -> None:
    if mode == "I;16":  # real 16-bit data: the full 0..65535 range
        src = Image.fromarray(np.asarray(astronaut.convert("L")).astype(np.uint16) * 257)
    else:
        src = astronaut.convert(mode)
    buf = io.BytesIO()
    src.save(buf, "TIFF" if mode in ("I;16", "CMYK") else "PNG")
    f = _features(load_photo(buf.getvalue()))
    ev = verify_pair(_features(astronaut), f)
    assert decide(ev).duplicate, (mode, ev)


def test_evidence_round_trips_as_json() -> None:
    ev = Evidence(40, 30, 0.5, 1.0, 1.4, -3.0, True, 0.8, 0.6, 0.01, ((0, 0), (1, 0), (1, 1)))
    assert Evidence.from_dict(ev.to_dict()) == ev
