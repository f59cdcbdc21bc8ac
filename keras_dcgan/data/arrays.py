"""Image arrays: `.npz`/`.npy` files and in-memory NumPy arrays.

Array files are read in two steps: the header first (shape and dtype, a few
hundred bytes), checked against the file's length and the memory this
process can still allocate, then the data, never unpickled.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import stat
import zipfile

import numpy as np
import tensorflow as tf

from keras_dcgan import bounds
from keras_dcgan.data.preprocess import (
    MIN_SOURCE_SIDE,
    ImageData,
    available_memory_bytes,
    format_bytes,
    open_regular,
    resize_images,
    special_file_kind,
)
from keras_dcgan.errors import DataError

logger = logging.getLogger(__name__)

ARRAY_NAMES = ("x", "x_train", "images")  # tried in this order
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # what np.load takes for .npz


@dataclasses.dataclass(frozen=True)
class ArrayHeader:
    """What an array file's header declares.

    Attributes:
        shape: The array's shape.
        dtype: Its dtype.
        member: The `.npz` member it is in (None for a `.npy` file).
        stored_bytes: Bytes after the header in the file or member.
    """

    shape: tuple
    dtype: np.dtype
    member: str | None
    stored_bytes: int

    @property
    def nbytes(self) -> int:
        """Bytes the array takes in memory."""
        return math.prod(self.shape) * self.dtype.itemsize


def load_array(path: str, name: str | None = None) -> np.ndarray:
    """Reads images from `.npy` or `.npz` (`x`, `x_train`, `images`, or the
    first array), or the `.npz` member `name`.

    Never unpickles (object arrays are refused), and reads the data only
    after its header proved that it fits in memory and in the file.

    Raises:
        DataError: Not a regular file, not a NumPy array, pickled, truncated,
            or larger than the memory available.
    """
    header = read_header(path, name)
    check_fits(header, path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(
            f"data={path}: cannot read it as a NumPy array "
            f"without pickle ({e}). Save plain numeric arrays "
            "with np.savez."
        ) from e
    except (OSError, EOFError) as e:
        raise DataError(f"data={path}: not a readable .npy/.npz file ({e}).") from e
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        try:
            return loaded[header.member]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(
                f"data={path}: array {header.member!r} cannot "
                f"be read without pickle ({e}); save plain "
                "numeric arrays with np.savez."
            ) from e


def read_header(path: str, name: str | None = None) -> ArrayHeader:
    """The header of the array `load_array(path, name)` would read.

    Reads a few hundred bytes whatever the array's size; opens nothing but a
    regular file (a FIFO or device could block or never end).

    Example:
        >>> read_header("mnist_test_10k.npz").shape
        (10000, 28, 28)
    """
    size = _regular_file_size(path)
    try:
        f = open_regular(path)
    except OSError as e:
        raise DataError(f"data={path}: cannot read it ({e}).") from e
    with f:
        if f.read(4) in _ZIP_MAGIC:
            f.seek(0)
            return _npz_header(f, path, name)
        f.seek(0)
        if name is not None:
            raise DataError(
                f"data={path}: a .npy holds one array; {name!r} needs a .npz file."
            )
        return _npy_header(f, path, None, size)


def array_names(path: str) -> list:
    """Names of the arrays in a `.npz` file, from its directory only."""
    _regular_file_size(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return [n.removesuffix(".npy") for n in archive.namelist()]
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"data={path}: not a readable .npz file ({e}).") from e


def check_fits(header: ArrayHeader, path: str) -> None:
    """Refuses an array larger than its file or than the free memory."""
    where = path if header.member is None else f"{path} ({header.member})"
    described = f"{header.shape} {header.dtype}"
    if any(d < 0 for d in header.shape):
        raise DataError(
            f"data={where}: corrupt header (shape "
            f"{header.shape}); save the array again."
        )
    available = available_memory_bytes()
    if header.nbytes > available:
        raise DataError(
            f"data={where}: the array {described} needs "
            f"{format_bytes(header.nbytes)} of memory, more than the "
            f"{format_bytes(available)} available; use an image folder, "
            "which streams, or fewer or smaller images."
        )
    if header.nbytes > header.stored_bytes:
        raise DataError(
            f"data={where}: truncated: the header declares {described} "
            f"({format_bytes(header.nbytes)}), the file holds "
            f"{format_bytes(header.stored_bytes)}; save the array again."
        )


def _regular_file_size(path: str) -> int:
    try:
        info = os.stat(path)
    except OSError as e:
        raise DataError(f"data={path}: cannot read it ({e.strerror}).") from e
    if not stat.S_ISREG(info.st_mode):
        raise DataError(
            f"data={path}: not a regular file "
            f"({special_file_kind(info.st_mode)}); give a "
            ".npz/.npy file or an image folder."
        )
    return info.st_size


def _npz_header(f, path: str, name: str | None) -> ArrayHeader:
    try:
        with zipfile.ZipFile(f) as archive:
            infos = {i.filename.removesuffix(".npy"): i for i in archive.infolist()}
            if not infos:
                raise DataError(f"data={path}: the .npz file holds no array.")
            if name is None:
                name = next((n for n in ARRAY_NAMES if n in infos), next(iter(infos)))
            if name not in infos:
                raise DataError(
                    f"data={path}: no array {name!r} (arrays "
                    f"present: {', '.join(infos)})."
                )
            with archive.open(infos[name]) as member:
                return _npy_header(
                    member, f"{path} ({name})", name, infos[name].file_size
                )
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise DataError(f"data={path}: not a readable .npz file ({e}).") from e


def _npy_header(f, where: str, member: str | None, size: int) -> ArrayHeader:
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f".npy format version {version} is not read here")
    except (ValueError, EOFError) as e:
        raise DataError(
            f"data={where}: not a NumPy array ({e}); save "
            "plain numeric arrays with np.save or np.savez."
        ) from e
    if dtype.hasobject:
        raise DataError(
            f"data={where}: an array of dtype {dtype} cannot "
            "be read without pickle and is refused; save plain "
            "numeric arrays with np.savez."
        )
    return ArrayHeader(tuple(shape), dtype, member, size - f.tell())


def check_center_crop(center_crop) -> int | None:
    """Refuses a crop side outside `DCGANConfig.center_crop`'s range; None
    (no crop) passes."""
    if center_crop is None:
        return None
    return bounds.check_int(
        center_crop,
        bounds.MINIMA["center_crop"],
        bounds.LIMITS["center_crop"],
        "center_crop",
        DataError,
    )


def from_array(
    x: np.ndarray,
    image_size: int,
    channels: int,
    description: str = "array",
    center_crop: int | None = None,
) -> ImageData:
    """Validates, converts and resizes an image array.

    Args:
        x: A NumPy array [N, H, W] or [N, H, W, C] (C in 1, 3, 4); uint8,
            or any other real numbers (bool, ints, floats up to float64's
            range) mapped to [0, 255]: [0, 1], [-1, 1] and [0, 255] as
            such, anything else by its min and max.
        image_size: Output side: 28, 32, 64 or 128.
        channels: Output channels: 1 or 3.
        description: Name of the source, for messages.
        center_crop: Side of the centered square kept before resizing
            (None or 8 to 65536, as `DCGANConfig.center_crop`).

    Returns:
        An `ImageData` over the converted array.

    Raises:
        DataError: An argument of the wrong kind or out of range, an array
            that is not images, holds NaN or infinite values, or whose
            images at `image_size` would not fit in the memory available;
            checked before anything is converted.

    Example:
        >>> from_array(np.zeros((10, 28, 28), np.uint8), 32, 3).num_images
        10
    """
    description = _check_description(description)
    image_size = bounds.check_image_size(image_size, "image_size", DataError)
    channels = bounds.check_channels(channels, "channels", DataError)
    center_crop = check_center_crop(center_crop)
    if not isinstance(x, np.ndarray):
        raise DataError(
            f"{description}: a {type(x).__name__}, not a NumPy array; pass "
            "np.asarray(images)."
        )
    check_array(x, description)
    _check_memory(x, image_size, channels, description)
    x = as_uint8(x, description)
    if x.ndim == 3:
        x = x[..., None]
    chunks = [
        resize_images(
            tf.convert_to_tensor(x[i : i + 4096]), image_size, channels, center_crop
        ).numpy()
        for i in range(0, len(x), 4096)
    ]
    x = np.concatenate(chunks)
    return ImageData(
        tf.data.Dataset.from_tensor_slices(x), len(x), f"{description}: {len(x)} images"
    )


def _check_description(description) -> str:
    if not isinstance(description, str):
        raise DataError(
            f"description={str(description)[:40]!r}: give the source's name as a str."
        )
    return description


def _check_memory(x: np.ndarray, image_size: int, channels: int, description: str):
    """Refuses an array whose conversion would not fit in memory: a float64
    copy (other than uint8), the uint8 images, their resized copies."""
    count = len(x)
    needed = (0 if x.dtype == np.uint8 else x.size * 9) + count * (
        x[0].size + image_size * image_size * channels * 2
    )
    available = available_memory_bytes()
    if needed > available:
        raise DataError(
            f"{description}: converting {count} images {x.shape[1:]} to "
            f"{image_size}x{image_size}x{channels} needs about "
            f"{format_bytes(needed)}, more than the {format_bytes(available)} "
            "available; give fewer or smaller images (an image folder streams)."
        )


def check_array(x: np.ndarray, description: str) -> np.ndarray:
    """Refuses arrays that are not images, with the reason and the fix."""
    if x.dtype.kind not in "biufc":  # objects, text, dates, records
        raise DataError(
            f"{description}: array dtype {x.dtype} is not "
            "numeric; store images as uint8 or float."
        )
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3, 4)):
        raise DataError(
            f"{description}: array shape {x.shape} is not images; expected "
            "[N, H, W] or [N, H, W, C] with C = 1, 3 or 4."
        )
    if len(x) == 0:
        raise DataError(f"{description}: the array holds no images.")
    if min(x.shape[1:3]) < MIN_SOURCE_SIDE:
        raise DataError(
            f"{description}: images of {x.shape[1]}x{x.shape[2]} px are "
            f"smaller than the {MIN_SOURCE_SIDE} px minimum; use larger "
            "images."
        )
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{description}: complex arrays are not images.")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise DataError(
            f"{description}: the array has NaN or infinite "
            "values; clean or drop those images first."
        )
    return x


def as_uint8(x: np.ndarray, description: str) -> np.ndarray:
    """Maps an image array of any finite real range to uint8 [0, 255].

    [0, 1], [-1, 1] and [0, 255] are taken as such; any other range is
    stretched from its min and max, in float64 and relative to its largest
    magnitude, so that values up to float64's limits (1e300) neither
    overflow nor vanish.
    """
    if x.dtype == np.uint8:
        return x
    low, high = float(x.min()), float(x.max())
    if not (np.isfinite(low) and np.isfinite(high)):  # a longdouble beyond
        raise DataError(  # float64's range
            f"{description}: values beyond float64's range; scale the images "
            "to [0, 1] or [0, 255] first."
        )
    if low >= 0.0 and high <= 1.0:
        scaled = x.astype(np.float32) * 255.0
    elif low >= -1.0 and high <= 1.0:
        scaled = (x.astype(np.float32) + 1.0) * 127.5
    elif low >= 0.0 and high <= 255.0:
        scaled = x.astype(np.float32)
    else:
        logger.warning(
            "%s: values in [%g, %g]; scaling min..max to 0..255.",
            description,
            low,
            high,
        )
        magnitude = max(abs(low), abs(high))
        low, high = low / magnitude, high / magnitude
        scaled = (x.astype(np.float64) / magnitude - low) * (
            255.0 / max(high - low, 1e-12)
        )
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def digits() -> np.ndarray:
    """scikit-learn's 1,797 handwritten 8x8 digits as uint8, ink high."""
    from sklearn.datasets import load_digits

    x = load_digits().images  # values 0..16
    return (x * (255.0 / 16.0)).round().astype(np.uint8)
