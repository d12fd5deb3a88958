"""Real photographs that ship inside installed wheels, for tests, the eval set and the demo.

No network: scikit-image's ``skimage.data`` (the entries bundled in the wheel, not the ones
fetched with pooch), scikit-learn's sample images and matplotlib's ``grace_hopper.jpg``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: Colour photographs (or photo-like colour images) bundled in the scikit-image wheel.
_SKIMAGE_COLOUR = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)
#: Greyscale photographs bundled in the scikit-image wheel.
_SKIMAGE_GREY = ("camera", "moon", "coins", "clock", "brick", "grass", "gravel", "cell", "page")


def _skimage(name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from skimage import data

        arr = np.asarray(getattr(data, name)())
        return Image.fromarray(arr, "RGB" if arr.ndim == 3 else "L")

    return load


def _motorcycle(index: int) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from skimage import data

        return Image.fromarray(np.asarray(data.stereo_motorcycle()[index]), "RGB")

    return load


def _sklearn(file_name: str) -> Callable[[], Image.Image]:
    def load() -> Image.Image:
        from sklearn.datasets import load_sample_image

        return Image.fromarray(np.asarray(load_sample_image(file_name)), "RGB")

    return load


def _grace_hopper() -> Image.Image:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as img:
        return img.convert("RGB")


#: name -> loader. The stereo pair is two shots of one scene a few centimetres apart: the
#: closest thing to a burst any wheel ships.
REAL_PHOTOS: dict[str, Callable[[], Image.Image]] = {
    **{name: _skimage(name) for name in _SKIMAGE_COLOUR},
    "motorcycle_left": _motorcycle(0),
    "motorcycle_right": _motorcycle(1),
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
    "grace_hopper": _grace_hopper,
    **{name: _skimage(name) for name in _SKIMAGE_GREY},
}

#: The colour subset, the most photo-like, used where a few photos are enough.
COLOUR_PHOTOS = (*_SKIMAGE_COLOUR, "motorcycle_left", "china", "flower", "grace_hopper")


def load_real_photo(name: str) -> Image.Image:
    """Return a fresh copy of the named real photo (KeyError names the choices)."""
    try:
        loader = REAL_PHOTOS[name]
    except KeyError:
        raise KeyError(
            f"unknown sample photo {name!r}; choose from {sorted(REAL_PHOTOS)}"
        ) from None
    return loader()
