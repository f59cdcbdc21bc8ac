"""TensorFlow Datasets by name: any TFDS dataset with an image feature."""

from __future__ import annotations

import socket

import tensorflow as tf

from keras_dcgan.data.preprocess import ImageData, cached_if_it_fits, resize_images
from keras_dcgan.errors import DataError

TFDS_HOST = "storage.googleapis.com"  # TFDS's own mirror


def load_tfds(
    name: str,
    image_size: int,
    channels: int,
    data_dir: str | None = None,
    center_crop: int | None = None,
) -> ImageData:
    """The "train" split of a TFDS dataset, resized and converted.

    A dataset that is not prepared is downloaded when there is network;
    without, this fails within seconds, saying how to pass the images.

    Args:
        name: TFDS name, e.g. "mnist", "celeb_a", "lsun/bedroom".
        image_size: Output side.
        channels: Output channels.
        data_dir: TFDS data directory.
        center_crop: Side of the centered square kept before resizing.

    Returns:
        An `ImageData`, cached in memory when it fits.
    """
    builder = open_builder(name, data_dir)
    ds = train_split(builder, name)
    key = image_feature(builder.info.features, name)
    count = _count(builder, ds)
    ds = ds.map(
        lambda ex: resize_images(ex[key], image_size, channels, center_crop),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    description = f"TFDS {name}: {count} images"
    ds = cached_if_it_fits(ds, count, image_size, channels, description)
    return ImageData(ds, count, description)


def open_builder(name: str, data_dir: str | None = None):
    """The TFDS builder of `name`, not yet prepared or read.

    Args:
        name: TFDS name, e.g. "mnist".
        data_dir: TFDS data directory.

    Returns:
        A `tfds.core.DatasetBuilder`.

    Raises:
        DataError: `name` is not a TFDS dataset.
    """
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # unknown names raise several types
        raise DataError(
            f"dataset={name}: not a TFDS dataset ({e}). Use a "
            "TFDS name such as mnist, or data=PATH."
        ) from e


def train_split(builder, name: str) -> tf.data.Dataset:
    """The builder's "train" split, in file order; prepared first if needed.

    Args:
        builder: From `open_builder`.
        name: The dataset's name, for messages.

    Returns:
        The split's examples (feature dicts).

    Raises:
        DataError: Not prepared, and it cannot be downloaded.
    """
    try:
        return builder.as_dataset(split="train", shuffle_files=False)
    except AssertionError:  # TFDS's way of saying "not prepared"
        _download(builder, name)
        return builder.as_dataset(split="train", shuffle_files=False)


def _download(builder, name: str) -> None:
    def fail(reason):
        return DataError(
            f"dataset={name}: not prepared in {builder.data_dir} and "
            f"cannot be downloaded ({reason}). Prepare it where there is "
            "network (`tfds build`) and point data_dir= at it, or pass the "
            "images as data=FILE.npz or data=FOLDER."
        )

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
    if cardinality >= 0:
        return cardinality
    return int(ds.reduce(0, lambda n, _: n + 1))


def image_feature(features, name: str) -> str:
    """The key of a dataset's (first) image feature."""
    import tensorflow_datasets as tfds

    for key, feature in features.items():
        if isinstance(feature, tfds.features.Image):
            return key
    raise DataError(f"dataset={name}: has no image feature; pick an image dataset.")
