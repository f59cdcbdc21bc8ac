"""Image folders: every decodable image below a directory, bad files reported.

All files are decoded once, in parallel, before any model is built: the
unusable ones (empty, truncated, corrupt, not images, too small) are
counted and reported by path and reason instead of failing mid-epoch, and a
folder with too many of them stops the run with the list.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from keras_dcgan.preprocess import (MIN_SOURCE_SIDE, DataError, ImageData,
                                    cache_budget_bytes, resize_images)

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
LISTED = 20  # bad files named in a message


def find_images(folder: str) -> list:
    """Image files (by extension) below `folder`, sorted, links followed."""
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names if name.lower().endswith(IMAGE_EXTENSIONS))


def load_folder(folder: str, image_size: int, channels: int,
                center_crop: Optional[int] = None,
                max_bad_fraction: float = 0.1) -> ImageData:
    """Loads every usable image below `folder`.

    Args:
        folder: Directory searched recursively for jpg, jpeg, png, bmp, gif
            (first frame) and webp files.
        image_size: Output side.
        channels: Output channels (1 or 3).
        center_crop: Side of the centered square kept before resizing.
        max_bad_fraction: Largest share of unusable files that is skipped
            with a warning; more stops with `DataError`.

    Returns:
        An `ImageData`; `skipped` maps each unusable file to the reason.

    Raises:
        DataError: No image files, none decodable, or too many bad ones.
    """
    paths = find_images(folder)
    if not paths:
        raise DataError(
            f"--data {folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})"
            " in this folder or below it.")
    decode = _decoder(image_size, channels, center_crop)
    keep = len(paths) * image_size**2 * channels <= cache_budget_bytes()
    good, pixels = _decode_all(paths, decode, keep)
    good_set = set(good)
    skipped = {p: why_unusable(p) for p in paths if p not in good_set}
    _check_bad_files(folder, paths, skipped, max_bad_fraction)
    if keep:
        ds = tf.data.Dataset.from_tensor_slices(pixels)
    else:
        logger.warning("%s: %d decoded images exceed the memory cache budget;"
                       " decoding them again every epoch.", folder, len(good))
        ds = tf.data.Dataset.from_tensor_slices(good).map(
            decode, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    description = f"{folder}: {len(good)} images"
    if skipped:
        description += f" ({len(skipped)} unusable files skipped)"
    return ImageData(ds, len(good), description, skipped)


def _decoder(image_size: int, channels: int, center_crop: Optional[int]):
    def decode(path):
        # Always 3 channels out of the decoder (GIF has no gray mode, RGBA
        # drops alpha), then converted like every other source.
        image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                                   expand_animations=False)
        image.set_shape([None, None, 3])
        small = tf.reduce_min(tf.shape(image)[:2]) < MIN_SOURCE_SIDE
        with tf.control_dependencies([tf.debugging.Assert(
                tf.logical_not(small), ["image too small"])]):
            image = tf.identity(image)
        return resize_images(image, image_size, channels, center_crop)

    return decode


def _decode_all(paths: list, decode, keep_pixels: bool):
    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(lambda p: (p, decode(p)), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.ignore_errors().batch(512).prefetch(2)
    good, chunks = [], []
    for names, images in ds:
        good.extend(n.decode() for n in names.numpy())
        if keep_pixels:
            chunks.append(images.numpy())
    pixels = np.concatenate(chunks) if chunks else None
    return good, pixels


def why_unusable(path: str) -> str:
    """A short reason why an image file could not be used."""
    from PIL import Image, UnidentifiedImageError

    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)"
        with Image.open(path) as image:
            image.load()
            width, height = image.size
    except UnidentifiedImageError:
        return "not an image"
    except (OSError, SyntaxError, ValueError) as e:
        return f"truncated or corrupt ({e})"
    if min(width, height) < MIN_SOURCE_SIDE:
        return (f"too small ({width}x{height} px, minimum "
                f"{MIN_SOURCE_SIDE} px)")
    return "TensorFlow cannot decode it (truncated or unsupported variant)"


def _check_bad_files(folder, paths, skipped, max_bad_fraction) -> None:
    if not skipped:
        return
    listing = "\n".join(f"  {p}: {why}" for p, why in
                        list(skipped.items())[:LISTED])
    more = len(skipped) - LISTED
    if more > 0:
        listing += f"\n  ... and {more} more"
    if len(skipped) == len(paths):
        raise DataError(f"--data {folder}: none of the {len(paths)} image "
                        f"files could be decoded:\n{listing}")
    if len(skipped) > max_bad_fraction * len(paths):
        raise DataError(
            f"--data {folder}: {len(skipped)} of {len(paths)} image files "
            f"are unusable, more than the {max_bad_fraction:.0%} allowed:\n"
            f"{listing}\nFix or remove them, or raise --max-bad-fraction.")
    logger.warning("%s: skipped %d of %d image files that cannot be used:\n%s",
                   folder, len(skipped), len(paths), listing)
