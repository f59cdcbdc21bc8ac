"""What a run was trained on: a cheap fingerprint of its data.

A resumed run must see the data it started with: the same images in the
same order (the order is a function of the seed, the epoch and the image
count). The fingerprint records where the images came from, how many there
are, their shape, and a hash of the first images as the run sees them
(after resizing and cropping), so a different file, folder or preprocessing
is noticed without reading the whole source again.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from keras_dcgan.atomic import write_text
from keras_dcgan.data.preprocess import ImageData
from keras_dcgan.errors import DataError
from keras_dcgan.reading import read_json_object

HASHED_IMAGES = 256
COMPARED = ("num_images", "shape", "sha256")
# What `data_fingerprint` writes, a few hundred bytes.
FINGERPRINT_TYPES = {"source": str, "num_images": int, "shape": list, "sha256": str}
MAX_FINGERPRINT_BYTES = 1 << 16


def data_fingerprint(images: ImageData, source: str) -> dict:
    """The fingerprint of a run's training images.

    Args:
        images: The loaded images.
        source: Where they came from (a path or a TFDS name), for messages.

    Returns:
        {"source", "num_images", "shape", "sha256"}; the hash covers the
        first 256 images in the source's own (unshuffled) order.

    Example:
        >>> data_fingerprint(from_array(x, 28, 1), "x.npz")["num_images"]
        1000
    """
    digest = hashlib.sha256()
    shape = None
    for image in images.dataset.take(HASHED_IMAGES).as_numpy_iterator():
        image = np.ascontiguousarray(image)
        shape = list(image.shape)
        digest.update(image.tobytes())
    return {
        "source": source,
        "num_images": int(images.num_images),
        "shape": shape,
        "sha256": digest.hexdigest(),
    }


def save_fingerprint(fingerprint: dict, path: str) -> None:
    """Writes the fingerprint as JSON, atomically."""
    write_text(path, json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")


def load_fingerprint(path: str) -> dict | None:
    """The saved fingerprint, or None when the run predates them.

    Raises:
        DataError: The file is there but is not a fingerprint this library
            wrote (not a small regular file, not JSON, nested too deeply, a
            key missing or of another type): the data cannot be checked.
    """
    if not os.path.lexists(path):
        return None
    try:
        return read_json_object(path, MAX_FINGERPRINT_BYTES, FINGERPRINT_TYPES)
    except (OSError, ValueError) as e:
        raise DataError(
            f"resume=True: {path} is not a data fingerprint keras_dcgan wrote "
            f"({e}), so the data cannot be checked against the run's. "
            "Restore the file, or pass allow_data_change=True to resume with "
            "the data given (its fingerprint is then written anew)."
        ) from None


def check_same_data(saved: dict, new: dict, allow_change: bool) -> list:
    """Compares a run's data fingerprint with the data given on resume.

    Returns:
        The differences, as readable strings ([] when the data is the same).

    Raises:
        DataError: The data differs and `allow_change` is False.
    """
    diffs = [
        f"{key} {saved.get(key)!r} -> {new.get(key)!r}"
        for key in COMPARED
        if saved.get(key) != new.get(key)
    ]
    if diffs and not allow_change:
        raise DataError(
            f"resume=True: the data differs from the run's ({saved.get('source')}"
            f" -> {new.get('source')}: " + "; ".join(diffs) + "). Give the "
            "run's own data, or pass allow_data_change=True to go on with this "
            "data on purpose."
        )
    return diffs
