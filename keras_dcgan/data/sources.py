"""Input pipelines: every source ends as `tf.data` batches in [-1, 1].

Sources (a TFDS name, an array file, an image folder, the offline default,
or, from Python, a NumPy array or a `tf.data.Dataset`: `as_image_data`)
are loaded once into a dataset of uint8 images at the configured size and
channel count (`ImageData`), cached in memory when they fit;
`epoch_batches` then shuffles, batches and scales them for one epoch,
deterministically from (seed, epoch), so that a resumed run sees the same
order as an uninterrupted one.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from keras_dcgan import bounds
from keras_dcgan.data.arrays import (
    check_center_crop,
    digits,
    from_array,
    load_array,
    read_header,
)
from keras_dcgan.data.datasets import from_dataset
from keras_dcgan.data.folders import DEFAULT_MAX_IMAGE_PIXELS, load_folder
from keras_dcgan.data.preprocess import ImageData, to_float
from keras_dcgan.data.tfds_source import load_tfds
from keras_dcgan.errors import DataError

OFFLINE_DEFAULT = "digits"
SHUFFLE_BUFFER_MAX = 60_000

__all__ = [
    "OFFLINE_DEFAULT",
    "as_image_data",
    "epoch_batches",
    "load_images",
    "suggest_shape",
]


def load_images(
    image_size: int,
    channels: int,
    *,
    dataset: str | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    center_crop: int | None = None,
    max_bad_fraction: float = 0.1,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> ImageData:
    """Loads a TFDS dataset by name, an array file or an image folder.

    With neither `dataset` nor `data`, loads the offline default: the 1,797
    8x8 handwritten digits bundled with scikit-learn, upscaled.

    Args:
        image_size: Side of the square output images.
        channels: 1 or 3.
        dataset: A TFDS name ("mnist", "celeb_a", ...) or "digits".
        data: Path of a `.npz`/`.npy` array file or of an image folder.
        data_dir: TFDS data directory (where prepared datasets live).
        center_crop: Side of the centered square kept before resizing
            (default: the whole short side; 108 for CelebA faces).
        max_bad_fraction: Image folders: the largest share of unusable
            files that is skipped (and reported) rather than refused.
        max_image_pixels: Image folders: files whose header declares more
            pixels are skipped (and reported) without being decoded.

    Returns:
        An `ImageData` of uint8 images [image_size, image_size, channels].

    Raises:
        DataError: The source is missing, empty or unusable; the message
            names it and the fix.

    Example:
        >>> images = load_images(28, 1, data="mnist_test_10k.npz")
        >>> images.num_images
        10000
    """
    image_size = bounds.check_image_size(image_size, "image_size", DataError)
    channels = bounds.check_channels(channels, "channels", DataError)
    for name, value in (("dataset", dataset), ("data_dir", data_dir)):
        if value is not None and not isinstance(value, str):
            raise DataError(f"{name}={str(value)[:40]!r}: give a name (a str).")
    if data is not None:
        data = bounds.check_path(data, "data", DataError)
    center_crop, max_bad_fraction, max_image_pixels = check_folder_limits(
        center_crop, max_bad_fraction, max_image_pixels
    )
    if dataset and data:
        raise DataError("Give either dataset= or data=, not both.")
    if data:
        if not os.path.exists(data):
            raise DataError(f"data={data}: no such file or directory.")
        if os.path.isdir(data):
            return load_folder(
                data,
                image_size,
                channels,
                center_crop,
                max_bad_fraction,
                max_image_pixels,
            )
        return from_array(
            load_array(data),
            image_size,
            channels,
            description=data,
            center_crop=center_crop,
        )
    if dataset in (None, OFFLINE_DEFAULT):
        return from_array(
            digits(),
            image_size,
            channels,
            center_crop=center_crop,
            description="scikit-learn digits (offline default)",
        )
    return load_tfds(dataset, image_size, channels, data_dir, center_crop)


def check_folder_limits(center_crop, max_bad_fraction, max_image_pixels) -> tuple:
    """Refuses the crop and the folder limits outside `DCGANConfig`'s
    ranges; returns them as Python numbers."""
    center_crop = check_center_crop(center_crop)
    max_bad_fraction = bounds.check_float(
        max_bad_fraction, 0.0, 1.0, "max_bad_fraction", DataError
    )
    max_image_pixels = bounds.check_int(
        max_image_pixels,
        1,
        bounds.LIMITS["max_image_pixels"],
        "max_image_pixels",
        DataError,
    )
    return center_crop, max_bad_fraction, max_image_pixels


def as_image_data(
    images: ImageData | np.ndarray | tf.data.Dataset,
    image_size: int,
    channels: int,
    center_crop: int | None = None,
) -> ImageData:
    """What `train` takes as images, as an `ImageData`.

    Args:
        images: An `ImageData` (as is), a NumPy array (`from_array`:
            converted and resized) or a `tf.data.Dataset` (`from_dataset`:
            already at the size and channels).
        image_size: The run's image side.
        channels: The run's channels.
        center_crop: NumPy arrays: side of the centered square kept before
            resizing; a dataset is not cropped, so it refuses one.

    Returns:
        The `ImageData`.

    Raises:
        DataError: Another type, or images that do not fit (see
            `from_array` and `from_dataset`).

    Example:
        >>> as_image_data(np.zeros((10, 28, 28), np.uint8), 28, 1).num_images
        10
    """
    if isinstance(images, ImageData):
        return images
    image_size = bounds.check_image_size(image_size, "image_size", DataError)
    channels = bounds.check_channels(channels, "channels", DataError)
    if isinstance(images, np.ndarray):
        return from_array(
            images, image_size, channels, "NumPy array", center_crop=center_crop
        )
    if isinstance(images, tf.data.Dataset):
        if center_crop:
            raise DataError(
                f"tf.data.Dataset: center_crop={center_crop} is not applied to "
                "a dataset (its images are used as they are); crop in the "
                "pipeline and leave center_crop unset."
            )
        return from_dataset(images, image_size, channels)
    raise DataError(
        f"Images of type {type(images).__name__}; give an ImageData "
        "(load_images), a NumPy array or a tf.data.Dataset."
    )


# Natural (image_size, channels) of well-known TFDS datasets.
_TFDS_SHAPES = {
    "mnist": (28, 1),
    "fashion_mnist": (28, 1),
    "kmnist": (28, 1),
    "emnist": (28, 1),
    "cifar10": (32, 3),
    "cifar100": (32, 3),
    "svhn_cropped": (32, 3),
}


def suggest_shape(dataset: str | None = None, data: str | None = None) -> tuple:
    """A sensible (image_size, channels) for a source when none is given.

    28x28 grayscale sources (MNIST-like, the digits default) -> (28, 1);
    32 px ones -> (32, 3); everything else -> (64, 3), the paper's size. An
    array file decides by its own shape, read from its header only.
    """
    if data and os.path.isfile(data):
        shape = read_header(data).shape
        channels = 3 if len(shape) == 4 and shape[-1] in (3, 4) else 1
        side = min(shape[1:3]) if len(shape) >= 3 else 64
        size = next((s for s in (28, 32, 64) if side <= s), 64)
        return size, channels
    if data:
        return 64, 3
    if dataset in (None, OFFLINE_DEFAULT):
        return 28, 1
    return _TFDS_SHAPES.get(dataset.split("/")[0].split(":")[0], (64, 3))


def epoch_batches(
    images: ImageData, batch_size: int, seed: int, epoch: int, skip_batches: int = 0
) -> tf.data.Dataset:
    """One epoch of shuffled float32 batches in [-1, 1].

    The order depends only on (`seed`, `epoch`), so skipping the batches a
    run already trained on resumes exactly where it stopped.

    Args:
        images: The loaded images.
        batch_size: Images per batch; an incomplete last batch is dropped.
        seed: Run seed.
        epoch: Zero-based epoch index.
        skip_batches: Batches of this epoch to leave out at the start.

    Returns:
        A `tf.data.Dataset` of float32 [batch_size, H, W, C].

    Raises:
        DataError: Not an `ImageData`, or a number of the wrong kind or out
            of range (`seed` must be given here: it fixes the order).
    """
    if not isinstance(images, ImageData):
        raise DataError(
            f"images: a {type(images).__name__}, not an ImageData; make one "
            "with load_images, from_array or from_dataset."
        )
    batch_size = bounds.check_int(
        batch_size, 1, bounds.LIMITS["batch_size"], "batch_size", DataError
    )
    seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    epoch = bounds.check_int(epoch, 0, bounds.MAX_EPOCH, "epoch", DataError)
    skip_batches = bounds.check_int(
        skip_batches, 0, bounds.MAX_STEP, "skip_batches", DataError
    )
    buffer = max(1, min(images.num_images, SHUFFLE_BUFFER_MAX))
    ds = images.dataset.shuffle(
        buffer, seed=seed * 100_003 + epoch, reshuffle_each_iteration=False
    )
    ds = ds.batch(batch_size, drop_remainder=True)
    if skip_batches:
        ds = ds.skip(skip_batches)
    ds = ds.map(to_float, num_parallel_calls=2).prefetch(2)
    # Fixed sizes, no autotuner: its thread sleeps on a period that grows
    # to seconds within an epoch, and destroying the epoch's exhausted
    # iterator waited for it: 3-12 s at most epoch boundaries
    # (docs/BENCHMARKS.md, "the stall").
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)
