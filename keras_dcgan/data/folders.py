"""Image folders: every decodable image below a directory, bad files reported.

Files are screened before anything is decoded: only regular files are read
(links to them are followed; each real file and directory is visited once,
so link loops and aliases count nothing twice); devices, FIFOs and sockets
are never opened, and a file over the per-file byte limit or whose header
declares more than `max_image_pixels` pixels is never decoded. The rest are
decoded once, in parallel, before any model is built. The unusable ones
(those, and empty, truncated, corrupt, non-image, too small files) are
counted and reported by path and reason instead of failing mid-epoch, and a
folder with too many of them stops the run with the list.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import warnings

import numpy as np
import tensorflow as tf

from keras_dcgan.config import DCGANConfig
from keras_dcgan.data.preprocess import (
    MIN_SOURCE_SIDE,
    ImageData,
    cache_budget_bytes,
    format_bytes,
    open_regular,
    resize_images,
    special_file_kind,
)
from keras_dcgan.errors import DataError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
LISTED = 20  # bad files named in a message
# Larger files are not read: no real dataset image comes near it (a 4K
# photo is a few MiB), and it bounds what one file can cost before decoding.
MAX_FILE_BYTES = 64 * 2**20
DEFAULT_MAX_IMAGE_PIXELS = DCGANConfig.max_image_pixels
_PILLOW_LIMIT = threading.Lock()  # guards lifting Pillow's own bomb check
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # bad files


def find_images(folder: str) -> list:
    """Image files (by extension) below `folder`, sorted, links followed.

    Each directory is entered once (by device and inode), so a link to a
    parent or to a folder already seen adds nothing. A file reached by two
    paths is listed twice; `screen_files` keeps the first.
    """
    seen_dirs, paths = {_identity(folder)}, []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs.sort()
        dirs[:] = [d for d in dirs if _first_visit(os.path.join(root, d), seen_dirs)]
        paths.extend(
            os.path.join(root, name)
            for name in names
            if name.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(paths)


def _identity(path: str):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _first_visit(path: str, seen: set) -> bool:
    identity = _identity(path)
    if identity is None or identity in seen:
        return False
    seen.add(identity)
    return True


def load_folder(
    folder: str,
    image_size: int,
    channels: int,
    center_crop: int | None = None,
    max_bad_fraction: float = 0.1,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> ImageData:
    """Loads every usable image below `folder`.

    Args:
        folder: Directory searched recursively for jpg, jpeg, png, bmp, gif
            (first frame) and webp files.
        image_size: Output side.
        channels: Output channels (1 or 3).
        center_crop: Side of the centered square kept before resizing.
        max_bad_fraction: Largest share of unusable files that is skipped
            with a warning; more stops with `DataError`.
        max_image_pixels: Files whose header declares more pixels are
            skipped without being decoded.

    Returns:
        An `ImageData`; `skipped` maps each unusable file to the reason.

    Raises:
        DataError: No image files, none usable, or too many bad ones.
    """
    paths = find_images(folder)
    if not paths:
        raise DataError(
            f"data={folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})"
            " in this folder or below it."
        )
    candidates, skipped = screen_files(paths, max_image_pixels)
    total = len(candidates) + len(skipped)  # each real file once
    decode = _decoder(image_size, channels, center_crop)
    keep = len(candidates) * image_size**2 * channels <= cache_budget_bytes()
    good, pixels = _decode_all(candidates, decode, keep)
    good_set = set(good)
    skipped.update(
        {p: why_unusable(p, max_image_pixels) for p in candidates if p not in good_set}
    )
    skipped = dict(sorted(skipped.items()))
    _check_bad_files(folder, total, skipped, max_bad_fraction)
    if keep:
        ds = tf.data.Dataset.from_tensor_slices(pixels)
    else:
        logger.warning(
            "%s: %d decoded images exceed the memory cache budget;"
            " decoding them again every epoch.",
            folder,
            len(good),
        )
        ds = (
            tf.data.Dataset.from_tensor_slices(good)
            .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
            .ignore_errors()
        )
    description = f"{folder}: {len(good)} images"
    if skipped:
        description += f" ({len(skipped)} unusable files skipped)"
    return ImageData(ds, len(good), description, skipped)


def screen_files(paths: list, max_image_pixels: int) -> tuple:
    """Splits image files into those safe to decode and the others.

    Reads at most each file's header, and nothing of a file that is not a
    regular one (a device or FIFO could be read forever). A file reached
    by several paths (links, hard links) is kept under the first only.

    Args:
        paths: Image files, e.g. from `find_images`.
        max_image_pixels: Largest width x height a header may declare.

    Returns:
        (paths to decode, {path: reason} for the others).
    """
    from PIL import Image

    usable, unusable, seen = [], {}, set()
    with warnings.catch_warnings():  # over-limit files are reported instead
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for path in paths:
            if not _utf8(path):  # TensorFlow takes file names as UTF-8 only
                unusable[path] = (
                    "its name is not valid UTF-8, which TensorFlow cannot "
                    "open; rename it"
                )
                continue
            info, reason = _stat(path)
            if info is not None:
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
                reason = _screen(path, info, max_image_pixels)
            if reason:
                unusable[path] = reason
            else:
                usable.append(path)
    return usable, unusable


def _utf8(path: str) -> bool:
    """Whether `path` is valid UTF-8 (Python keeps other bytes of a name
    as surrogates, which no UTF-8 string can hold)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(path: str) -> str:
    """`path` for a message: the bytes of a name that is not UTF-8 as \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _stat(path: str) -> tuple:
    """(stat result, None), or (None, why it cannot be stat'ed)."""
    try:
        return os.stat(path), None
    except OSError as e:
        return None, f"unreadable or a broken link ({e.strerror})"


def _screen(path: str, info: os.stat_result, max_image_pixels: int) -> str | None:
    """Why `path` (whose stat is `info`) must not be decoded, or None."""
    if not stat.S_ISREG(info.st_mode):
        return f"not a regular file ({special_file_kind(info.st_mode)}); never opened"
    if info.st_size == 0:
        return "empty file (0 bytes)"
    if info.st_size > MAX_FILE_BYTES:
        return (
            f"{format_bytes(info.st_size)}, over the "
            f"{format_bytes(MAX_FILE_BYTES)} per-file limit; recompress "
            "or downscale it"
        )
    try:
        width, height = _header_size(path)
    except PermissionError as e:
        return f"unreadable ({e.strerror})"
    except _PIL_ERRORS as e:
        return _pil_reason(e)
    if width * height > max_image_pixels:
        return (
            f"{width}x{height} px, over the {max_image_pixels:,} pixel "
            "limit; raise max_image_pixels= if it is a real image and "
            "the machine has the memory"
        )
    if min(width, height) < MIN_SOURCE_SIDE:
        return f"too small ({width}x{height} px, minimum {MIN_SOURCE_SIDE} px)"
    return None


def _header_size(path: str) -> tuple:
    """(width, height) from the image's header, without decoding it."""
    from PIL import Image

    with open_regular(path) as f:
        try:
            with Image.open(f) as image:
                return image.size
        except Image.DecompressionBombError:
            # Over Pillow's own limit: read the size anyway, so the message
            # names it and a raised --max-image-pixels is honoured.
            f.seek(0)
            with _PILLOW_LIMIT:
                saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
                try:
                    with Image.open(f) as image:
                        return image.size
                finally:
                    Image.MAX_IMAGE_PIXELS = saved


def _decoder(image_size: int, channels: int, center_crop: int | None):
    def decode(path):
        # Always 3 channels out of the decoder (GIF has no gray mode, RGBA
        # drops alpha), then converted like every other source.
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=3, expand_animations=False
        )
        image.set_shape([None, None, 3])
        small = tf.reduce_min(tf.shape(image)[:2]) < MIN_SOURCE_SIDE
        with tf.control_dependencies(
            [tf.debugging.Assert(tf.logical_not(small), ["image too small"])]
        ):
            image = tf.identity(image)
        return resize_images(image, image_size, channels, center_crop)

    return decode


def _decode_all(paths: list, decode, keep_pixels: bool):
    if not paths:
        return [], None
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


def why_unusable(path: str, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> str:
    """A short reason why an image file could not be used."""
    from PIL import Image

    info, reason = _stat(path)
    reason = reason or _screen(path, info, max_image_pixels)
    if reason:
        return reason
    try:
        with Image.open(path) as image:
            image.load()
    except _PIL_ERRORS + (Image.DecompressionBombError,) as e:
        return _pil_reason(e)
    return "TensorFlow cannot decode it (truncated or unsupported variant)"


def _pil_reason(error: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):
        return "not an image"
    return f"truncated or corrupt ({error})"


def _check_bad_files(folder, total, skipped, max_bad_fraction) -> None:
    if not skipped:
        return
    listing = "\n".join(
        f"  {_printable(p)}: {why}" for p, why in list(skipped.items())[:LISTED]
    )
    more = len(skipped) - LISTED
    if more > 0:
        listing += f"\n  ... and {more} more"
    if len(skipped) == total:
        raise DataError(
            f"data={folder}: none of the {total} image files can be used:\n{listing}"
        )
    if len(skipped) > max_bad_fraction * total:
        raise DataError(
            f"data={folder}: {len(skipped)} of {total} image files "
            f"are unusable, more than the {max_bad_fraction:.0%} allowed:\n"
            f"{listing}\nFix or remove them, or raise max_bad_fraction=."
        )
    logger.warning(
        "%s: skipped %d of %d image files that cannot be used:\n%s",
        folder,
        len(skipped),
        total,
        listing,
    )
