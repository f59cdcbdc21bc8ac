"""Input pipelines: every source ends as `tf.data` batches in [-1, 1].

Sources are loaded once into a dataset of uint8 images at the configured
size and channel count (`ImageData`); `epoch_batches` then shuffles, batches
and scales them for one epoch, deterministically from (seed, epoch) so that
a resumed run sees the same order as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from typing import Optional

import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

OFFLINE_DEFAULT = "digits"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SHUFFLE_BUFFER_MAX = 60_000
TFDS_HOST = "storage.googleapis.com"  # TFDS's own mirror


class DataError(ValueError):
    """The data cannot be used; the message names the source and the fix."""


@dataclasses.dataclass
class ImageData:
    """Images of one source, ready to batch.

    Attributes:
        dataset: Unbatched `tf.data.Dataset` of uint8 [size, size, channels].
        num_images: How many images one epoch holds.
        description: What was loaded, for logs.
    """

    dataset: tf.data.Dataset
    num_images: int
    description: str


def load_images(image_size: int, channels: int, *,
                dataset: Optional[str] = None, data: Optional[str] = None,
                data_dir: Optional[str] = None) -> ImageData:
    """Loads a TFDS dataset by name, an array file or an image folder.

    With neither `dataset` nor `data`, loads the offline default: the 1,797
    8x8 handwritten digits bundled with scikit-learn, upscaled.

    Args:
        image_size: Side of the square output images.
        channels: 1 or 3.
        dataset: A TFDS name ("mnist", "celeb_a", ...) or "digits".
        data: Path of a `.npz`/`.npy` array file or of an image folder.
        data_dir: TFDS data directory (where prepared datasets live).

    Returns:
        An `ImageData` of uint8 images [image_size, image_size, channels].

    Raises:
        DataError: The source is missing, empty or unusable.

    Example:
        >>> images = load_images(28, 1, data="mnist_test_10k.npz")
        >>> images.num_images
        10000
    """
    if dataset and data:
        raise DataError("Give either --dataset or --data, not both.")
    if data:
        if not os.path.exists(data):
            raise DataError(f"--data {data}: no such file or directory.")
        if os.path.isdir(data):
            return _load_folder(data, image_size, channels)
        return from_array(load_array(data), image_size, channels,
                          description=data)
    if dataset in (None, OFFLINE_DEFAULT):
        return from_array(_digits(), image_size, channels,
                          description="scikit-learn digits (offline default)")
    return _load_tfds(dataset, image_size, channels, data_dir)


# Natural (image_size, channels) of well-known TFDS datasets.
_TFDS_SHAPES = {"mnist": (28, 1), "fashion_mnist": (28, 1), "kmnist": (28, 1),
                "emnist": (28, 1), "cifar10": (32, 3), "cifar100": (32, 3),
                "svhn_cropped": (32, 3)}


def suggest_shape(dataset: Optional[str] = None,
                  data: Optional[str] = None) -> tuple:
    """A sensible (image_size, channels) for a source when none is given.

    28x28 grayscale sources (MNIST-like, the digits default) -> (28, 1);
    32 px ones -> (32, 3); everything else -> (64, 3), the paper's size. An
    array file decides by its own shape.
    """
    if data and os.path.isfile(data):
        x = load_array(data)
        channels = 3 if x.ndim == 4 and x.shape[-1] in (3, 4) else 1
        side = min(x.shape[1:3]) if x.ndim >= 3 else 64
        size = next((s for s in (28, 32, 64) if side <= s), 64)
        return size, channels
    if data:
        return 64, 3
    if dataset in (None, OFFLINE_DEFAULT):
        return 28, 1
    return _TFDS_SHAPES.get(dataset.split("/")[0].split(":")[0], (64, 3))


def epoch_batches(images: ImageData, batch_size: int, seed: int, epoch: int,
                  skip_batches: int = 0) -> tf.data.Dataset:
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
    """
    buffer = max(1, min(images.num_images, SHUFFLE_BUFFER_MAX))
    ds = images.dataset.shuffle(buffer, seed=seed * 100_003 + epoch,
                                reshuffle_each_iteration=False)
    ds = ds.batch(batch_size, drop_remainder=True)
    if skip_batches:
        ds = ds.skip(skip_batches)
    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def to_float(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
    """float [-1, 1] -> uint8 [0, 255] (values outside are clipped)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def load_array(path: str) -> np.ndarray:
    """Reads images from `.npy` or `.npz` (`x`, `x_train`, or the first one).

    Never unpickles: object arrays are refused.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"--data {path}: cannot read it as a NumPy array "
                        f"without pickle ({e}). Save plain numeric arrays "
                        "with np.savez.") from e
    except OSError as e:
        raise DataError(f"--data {path}: not a .npy/.npz file ({e}).") from e
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if not names:
            raise DataError(f"--data {path}: the .npz file holds no array.")
        name = next((n for n in ("x", "x_train", "images") if n in names),
                    names[0])
        return loaded[name]


def from_array(x: np.ndarray, image_size: int, channels: int,
               description: str = "array") -> ImageData:
    """Validates, converts and resizes an image array.

    Args:
        x: [N, H, W] or [N, H, W, C] (C in 1, 3, 4); uint8, or float of any
            finite range (mapped to [0, 255]: [0, 1] and [-1, 1] as such,
            anything else by its min and max).
        image_size: Output side.
        channels: Output channels.
        description: Name of the source, for messages.

    Returns:
        An `ImageData` over the converted array.
    """
    x = _as_uint8(_check_array(x, description), description)
    if x.ndim == 3:
        x = x[..., None]
    chunks = [_resize_uint8(x[i:i + 4096], image_size, channels)
              for i in range(0, len(x), 4096)]
    x = np.concatenate(chunks)
    return ImageData(tf.data.Dataset.from_tensor_slices(x), len(x),
                     f"{description}: {len(x)} images")


def _check_array(x: np.ndarray, description: str) -> np.ndarray:
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
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise DataError(f"{description}: the array has NaN or infinite "
                        "values; clean or drop those images first.")
    return x


def _as_uint8(x: np.ndarray, description: str) -> np.ndarray:
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


def _resize_uint8(images, image_size: int, channels: int) -> np.ndarray:
    return resize_images(tf.convert_to_tensor(images), image_size,
                         channels).numpy()


def resize_images(images: tf.Tensor, image_size: int,
                  channels: int) -> tf.Tensor:
    """uint8 [..., H, W, C] -> uint8 [..., size, size, channels].

    Converts channels (gray, RGB, RGBA), crops the central square, and
    resizes with antialiasing (area-like when shrinking).
    """
    images = match_channels(images, channels)
    height, width = tf.shape(images)[-3], tf.shape(images)[-2]
    side = tf.minimum(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    images = images[..., top:top + side, left:left + side, :]
    resized = tf.image.resize(images, (image_size, image_size),
                              method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def match_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    """Gray, RGB or RGBA uint8 images -> `channels` (1 or 3)."""
    have = images.shape[-1]
    if have == 4:  # drop alpha
        images, have = images[..., :3], 3
    if have == channels:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(
        tf.cast(images, tf.float32))), tf.uint8)


def _digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    # 8x8 images with values 0..16, ink high, like MNIST.
    x = load_digits().images
    return (x * (255.0 / 16.0)).round().astype(np.uint8)


def _load_folder(folder: str, image_size: int, channels: int) -> ImageData:
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names if name.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise DataError(
            f"--data {folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})"
            " in this folder or below it.")

    def decode(path):
        raw = tf.io.read_file(path)
        image = tf.io.decode_image(raw, channels=3 if channels == 3 else 1,
                                   expand_animations=False)
        image.set_shape([None, None, 3 if channels == 3 else 1])
        return resize_images(image, image_size, channels)

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.ignore_errors(log_warning=True).cache()
    return ImageData(ds, len(paths), f"{folder}: {len(paths)} image files")


def _load_tfds(name: str, image_size: int, channels: int,
               data_dir: Optional[str]) -> ImageData:
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # unknown names raise several types
        raise DataError(f"--dataset {name}: not a TFDS dataset ({e}). Use a "
                        "TFDS name such as mnist, or --data PATH.") from e
    try:
        ds = builder.as_dataset(split="train", shuffle_files=False)
    except AssertionError:  # TFDS's way of saying "not prepared"
        _download(builder, name)
        ds = builder.as_dataset(split="train", shuffle_files=False)
    key = _image_feature(builder.info.features, name)
    count = _count(builder, ds)
    ds = ds.map(lambda ex: resize_images(ex[key], image_size, channels),
                num_parallel_calls=tf.data.AUTOTUNE).cache()
    return ImageData(ds, count, f"TFDS {name}: {count} images")


def _download(builder, name: str) -> None:
    def fail(reason):
        return DataError(
            f"--dataset {name}: not prepared in {builder.data_dir} and "
            f"cannot be downloaded ({reason}). Prepare it where there is "
            "network (`tfds build`) and point --data-dir at it, or pass the "
            "images as --data FILE.npz or --data FOLDER.")

    # Without network TFDS retries for minutes; a 3 s probe fails in time.
    try:
        socket.create_connection((TFDS_HOST, 443), timeout=3).close()
    except OSError as e:
        raise fail(f"no network: {e}") from e
    try:
        builder.download_and_prepare()
    except Exception as e:  # TFDS raises many types; all end the same way
        raise fail(f"{type(e).__name__}: {e}") from e


def _count(builder, ds: tf.data.Dataset) -> int:
    splits = builder.info.splits
    if "train" in splits:
        return splits["train"].num_examples
    cardinality = int(ds.cardinality())
    return cardinality if cardinality >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


def _image_feature(features, name: str) -> str:
    import tensorflow_datasets as tfds

    for key, feature in features.items():
        if isinstance(feature, tfds.features.Image):
            return key
    raise DataError(f"--dataset {name}: has no image feature; pick an image "
                    "dataset.")
