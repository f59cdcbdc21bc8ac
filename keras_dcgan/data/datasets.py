"""`tf.data.Dataset`s of images, made by the caller's own pipeline.

A dataset is taken as preprocessed: its images must already have the run's
size and channels (nothing is resized, cropped or converted but the range),
so that everything about it is checked up front from its `element_spec`,
before anything is read. It must be finite with a count tf.data knows
(`train` needs the steps of an epoch), and unbatched (`train` batches and
shuffles it itself, every epoch). Its images are kept in memory when they
fit (`cached_if_it_fits`), else the pipeline is read again every epoch.
"""

from __future__ import annotations

import logging

import numpy as np
import tensorflow as tf

from keras_dcgan import bounds
from keras_dcgan.data.preprocess import ImageData, cached_if_it_fits
from keras_dcgan.errors import DataError

logger = logging.getLogger(__name__)

# The float images checked before training: those the fingerprint hashes.
CHECKED_IMAGES = 256
# Float rounding allowed beyond [-1, 1]; such values are clipped.
RANGE_TOLERANCE = 1e-3
_FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
_OUT_OF_RANGE = (
    "keras_dcgan: a float image of the tf.data.Dataset has values outside "
    "[-1, 1] or NaN/Inf; scale float images to [-1, 1] or give uint8"
)

__all__ = ["from_dataset"]


def from_dataset(
    dataset: tf.data.Dataset,
    image_size: int,
    channels: int,
    description: str = "tf.data.Dataset",
) -> ImageData:
    """Validates a `tf.data.Dataset` of images and makes an `ImageData`.

    Args:
        dataset: Unbatched images [image_size, image_size, channels], or
            (image, label, ...) tuples, or dicts with an "image" key (the
            image is taken, the rest dropped). uint8 in [0, 255], or float
            in [-1, 1] (stored as uint8, like every source). Finite, with a
            known count: after `filter` or from a generator, state it with
            `dataset.apply(tf.data.experimental.assert_cardinality(N))`.
            It should give the same images in the same order each time it
            is read (no reshuffling): a resumed run checks its first images.
        image_size: The side the images must have (the config's).
        channels: The channels they must have, 1 or 3 (the config's).
        description: Name of the source, for messages.

    Returns:
        An `ImageData` of uint8 images, cached in memory when they fit.

    Raises:
        DataError: Not a dataset of such images (type, structure, dtype,
            shape, batched), infinite or of unknown size, empty, or (float)
            its first 256 images are NaN/Inf or outside [-1, 1]. Later float
            images outside [-1, 1] stop training with an
            `InvalidArgumentError` saying so.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(np.zeros((64, 28, 28, 1), "uint8"))
        >>> from_dataset(ds, 28, 1).num_images
        64
    """
    if not isinstance(description, str):
        raise DataError("description: give the source's name as a str.")
    image_size = bounds.check_image_size(image_size, "image_size", DataError)
    channels = bounds.check_channels(channels, "channels", DataError)
    if not isinstance(dataset, tf.data.Dataset):
        raise DataError(
            f"{description}: a {type(dataset).__name__}, not a tf.data.Dataset."
        )
    images = _images_of(dataset, description)
    spec = images.element_spec
    _check_dtype(spec.dtype, description)
    _check_shape(spec.shape, image_size, channels, description)
    count = _count(dataset, description)
    if spec.dtype != tf.uint8:
        _check_float_range(images, min(count, CHECKED_IMAGES), description)
        images = images.map(_float_to_uint8, num_parallel_calls=tf.data.AUTOTUNE)
    description = f"{description}: {count} images"
    images = cached_if_it_fits(images, count, image_size, channels, description)
    return ImageData(images, count, description)


def _images_of(dataset: tf.data.Dataset, description: str) -> tf.data.Dataset:
    """The dataset of its images alone: elements, (image, ...) tuples, or
    the "image" of dicts."""
    spec = dataset.element_spec
    if isinstance(spec, dict) and "image" in spec:
        spec, pick = spec["image"], lambda element: element["image"]
    elif isinstance(spec, tuple) and spec:
        spec, pick = spec[0], lambda *element: element[0]
    else:
        pick = None
    if not isinstance(spec, tf.TensorSpec):
        raise DataError(
            f"{description}: elements of {dataset.element_spec} are not "
            "images; give dense image tensors, (image, label) pairs or "
            'dicts with an "image" key.'
        )
    return dataset if pick is None else dataset.map(pick)


def _check_dtype(dtype: tf.DType, description: str) -> None:
    if dtype == tf.uint8 or dtype in _FLOATS:
        return
    if dtype == tf.string:
        fix = "decode them first (tf.io.decode_png / decode_jpeg)"
    else:
        fix = "for pixels 0..255, dataset.map(lambda x: tf.cast(x, tf.uint8))"
    raise DataError(
        f"{description}: images of dtype {dtype.name}; give uint8 in "
        f"[0, 255] or float in [-1, 1]: {fix}."
    )


def _check_shape(
    shape: tf.TensorShape, image_size: int, channels: int, description: str
) -> None:
    expected = [image_size, image_size, channels]
    wanted = (
        f"the config expects {expected} (image_size={image_size}, channels={channels})"
    )
    if shape.rank is None:
        problem = "images of unknown rank"
        fix = f"state it: dataset.map(lambda x: tf.ensure_shape(x, {expected}))"
    elif shape.rank == 4:
        problem = f"elements of shape {shape} look batched"
        fix = "pass dataset.unbatch(): train batches and shuffles itself"
    elif shape.rank == 2:
        problem = f"images of shape {shape} have no channel axis"
        fix = "add it: dataset.map(lambda x: x[..., None])"
    elif shape.rank != 3:
        problem, fix = f"elements of shape {shape} are not images", "give [H, W, C]"
    elif not shape.is_fully_defined():
        problem = f"images of shape {shape} (not known up front)"
        fix = f"state it: dataset.map(lambda x: tf.ensure_shape(x, {expected}))"
    elif shape[:2] != expected[:2]:
        problem = f"images of shape {shape}"
        fix = "resize them in the pipeline (tf.image.resize) or set image_size"
    elif shape[2] != channels:
        problem = f"images of shape {shape}"
        fix = "convert them (tf.image.rgb_to_grayscale, ...) or set channels"
    else:
        return
    raise DataError(f"{description}: {problem}; {wanted}: {fix}.")


def _count(dataset: tf.data.Dataset, description: str) -> int:
    count = int(dataset.cardinality())
    if count == tf.data.INFINITE_CARDINALITY:
        raise DataError(
            f"{description}: repeats forever; drop .repeat(): train reads "
            "it once per epoch (config epochs or steps set the length)."
        )
    if count == tf.data.UNKNOWN_CARDINALITY:
        raise DataError(
            f"{description}: tf.data does not know how many images it holds "
            "(after filter, or from a generator); state it: dataset.apply("
            "tf.data.experimental.assert_cardinality(N))."
        )
    if count == 0:
        raise DataError(f"{description}: the dataset holds no images.")
    return count


def _check_float_range(images: tf.data.Dataset, num: int, description: str) -> None:
    """Reads the first `num` float images: NaN/Inf or values outside
    [-1, 1] are refused; all of them >= 0 (a [0, 1] dataset?) is warned
    about."""
    first = f"{description}: its first {num} images"
    low, high = np.inf, -np.inf
    for image in images.take(num).as_numpy_iterator():
        image = np.asarray(image, np.float32)
        if not np.isfinite(image).all():
            raise DataError(f"{first} have NaN or infinite values; clean or drop them.")
        low, high = min(low, float(image.min())), max(high, float(image.max()))
    if low < -1.0 - RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise DataError(
            f"{first} have values in [{low:g}, {high:g}], but float images "
            "must be in [-1, 1]: map x / 127.5 - 1 from [0, 255], x * 2 - 1 "
            "from [0, 1], or give uint8."
        )
    if low >= 0.0:
        logger.warning(
            "%s are all in [%g, %g]; float images are read as [-1, 1], so "
            "these train as grey to white. If they are [0, 1], map x * 2 - 1.",
            first,
            low,
            high,
        )


def _float_to_uint8(image: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255]; NaN/Inf or values outside stop the
    pipeline with an InvalidArgumentError."""
    image = tf.debugging.assert_all_finite(tf.cast(image, tf.float32), _OUT_OF_RANGE)
    check = tf.debugging.assert_less_equal(
        tf.reduce_max(tf.abs(image)), 1.0 + RANGE_TOLERANCE, message=_OUT_OF_RANGE
    )
    with tf.control_dependencies([check]):
        scaled = tf.round((image + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)
