"""Image arrays: `.npz`/`.npy` files and in-memory NumPy arrays."""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import tensorflow as tf

from keras_dcgan.preprocess import (MIN_SOURCE_SIDE, DataError, ImageData,
                                    resize_images)

logger = logging.getLogger(__name__)

ARRAY_NAMES = ("x", "x_train", "images")  # tried in this order


def load_array(path: str) -> np.ndarray:
    """Reads images from `.npy` or `.npz` (`x`, `x_train`, `images`, or the
    first array). Never unpickles: object arrays are refused."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"--data {path}: cannot read it as a NumPy array "
                        f"without pickle ({e}). Save plain numeric arrays "
                        "with np.savez.") from e
    except (OSError, EOFError) as e:
        raise DataError(f"--data {path}: not a readable .npy/.npz file "
                        f"({e}).") from e
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if not names:
            raise DataError(f"--data {path}: the .npz file holds no array.")
        name = next((n for n in ARRAY_NAMES if n in names), names[0])
        try:
            return loaded[name]
        except ValueError as e:
            raise DataError(f"--data {path}: array {name!r} needs pickle to "
                            "load and is refused; save plain numeric "
                            "arrays.") from e


def from_array(x: np.ndarray, image_size: int, channels: int,
               description: str = "array",
               center_crop: Optional[int] = None) -> ImageData:
    """Validates, converts and resizes an image array.

    Args:
        x: [N, H, W] or [N, H, W, C] (C in 1, 3, 4); uint8, or float of any
            finite range (mapped to [0, 255]: [0, 1] and [-1, 1] as such,
            anything else by its min and max).
        image_size: Output side.
        channels: Output channels.
        description: Name of the source, for messages.
        center_crop: Side of the centered square kept before resizing.

    Returns:
        An `ImageData` over the converted array.

    Example:
        >>> from_array(np.zeros((10, 28, 28), np.uint8), 32, 3).num_images
        10
    """
    x = as_uint8(check_array(x, description), description)
    if x.ndim == 3:
        x = x[..., None]
    chunks = [resize_images(tf.convert_to_tensor(x[i:i + 4096]), image_size,
                            channels, center_crop).numpy()
              for i in range(0, len(x), 4096)]
    x = np.concatenate(chunks)
    return ImageData(tf.data.Dataset.from_tensor_slices(x), len(x),
                     f"{description}: {len(x)} images")


def check_array(x: np.ndarray, description: str) -> np.ndarray:
    """Refuses arrays that are not images, with the reason and the fix."""
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number)
                                 or x.dtype == bool):
        raise DataError(f"{description}: array dtype {x.dtype} is not "
                        "numeric; store images as uint8 or float.")
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3, 4)):
        raise DataError(
            f"{description}: array shape {x.shape} is not images; expected "
            "[N, H, W] or [N, H, W, C] with C = 1, 3 or 4.")
    if len(x) == 0:
        raise DataError(f"{description}: the array holds no images.")
    if min(x.shape[1:3]) < MIN_SOURCE_SIDE:
        raise DataError(
            f"{description}: images of {x.shape[1]}x{x.shape[2]} px are "
            f"smaller than the {MIN_SOURCE_SIDE} px minimum; use larger "
            "images.")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{description}: complex arrays are not images.")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise DataError(f"{description}: the array has NaN or infinite "
                        "values; clean or drop those images first.")
    return x


def as_uint8(x: np.ndarray, description: str) -> np.ndarray:
    """Maps an image array of any numeric range to uint8 [0, 255]."""
    if x.dtype == np.uint8:
        return x
    x = x.astype(np.float32)
    low, high = float(x.min()), float(x.max())
    if low >= 0.0 and high <= 1.0:
        scaled = x * 255.0
    elif low >= -1.0 and high <= 1.0:
        scaled = (x + 1.0) * 127.5
    elif low >= 0.0 and high <= 255.0:
        scaled = x
    else:
        logger.warning("%s: values in [%g, %g]; scaling min..max to 0..255.",
                       description, low, high)
        scaled = (x - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def digits() -> np.ndarray:
    """scikit-learn's 1,797 handwritten 8x8 digits as uint8, ink high."""
    from sklearn.datasets import load_digits

    x = load_digits().images  # values 0..16
    return (x * (255.0 / 16.0)).round().astype(np.uint8)
