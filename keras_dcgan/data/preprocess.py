"""What every data source shares: the error type, the loaded-images record,
and the conversion of any image to the run's size, channels and range."""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

# Where data readers have always found them; defined in the lowest layer.
from keras_dcgan.reading import open_regular, special_file_kind  # noqa: F401

logger = logging.getLogger(__name__)

# Smaller sources carry too little to upscale into a DCGAN image.
MIN_SOURCE_SIDE = 8
# Decoded images are kept in memory when they take less than this share of
# the machine's RAM (and less than the hard cap); else they are streamed.
CACHE_RAM_SHARE = 0.4
CACHE_MAX_BYTES = 16 * 2**30


@dataclasses.dataclass
class ImageData:
    """Images of one source, ready to batch.

    Attributes:
        dataset: Unbatched `tf.data.Dataset` of uint8 [size, size, channels].
        num_images: How many images one epoch holds.
        description: What was loaded, for logs.
        skipped: Files left out, as {path: reason} (image folders only).
    """

    dataset: tf.data.Dataset
    num_images: int
    description: str
    skipped: dict = dataclasses.field(default_factory=dict)


def to_float(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
    """float [-1, 1] -> uint8 [0, 255] (values outside are clipped)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def resize_images(
    images: tf.Tensor, image_size: int, channels: int, center_crop: int | None = None
) -> tf.Tensor:
    """uint8 [..., H, W, C] -> uint8 [..., size, size, channels].

    Converts channels (gray, RGB, RGBA), crops a centered square (the whole
    short side, or `center_crop` pixels of it: 108 is the usual CelebA face
    crop) and resizes with antialiasing, so that shrinking averages pixels
    instead of skipping them.
    """
    images = match_channels(images, channels)
    if _already_sized(images, image_size, center_crop):
        # Resampling a square at its own size gives it back unchanged, at
        # the cost of a full resize (1.9 s for MNIST's 10,000 images).
        return images
    height, width = tf.shape(images)[-3], tf.shape(images)[-2]
    side = tf.minimum(height, width)
    if center_crop:
        side = tf.minimum(side, center_crop)
    top, left = (height - side) // 2, (width - side) // 2
    images = images[..., top : top + side, left : left + side, :]
    resized = tf.image.resize(
        images, (image_size, image_size), method="bilinear", antialias=True
    )
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _already_sized(images: tf.Tensor, image_size: int, center_crop) -> bool:
    height, width = images.shape[-3], images.shape[-2]
    return (
        height == width == image_size
        and (not center_crop or center_crop >= image_size)
        and images.dtype == tf.uint8
    )


def match_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    """Gray, RGB or RGBA uint8 images -> `channels` (1 or 3)."""
    have = images.shape[-1]
    if have == 4:  # drop alpha
        images, have = images[..., :3], 3
    if have == channels:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    return tf.cast(
        tf.round(tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))), tf.uint8
    )


def cache_budget_bytes() -> int:
    """Bytes of decoded images this machine may keep in memory."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    return int(min(CACHE_MAX_BYTES, CACHE_RAM_SHARE * ram))


# Where containers (cgroup v2, then v1) publish their memory limit and use.
_CGROUP_MEMORY = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    (
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory/memory.usage_in_bytes",
    ),
)


def available_memory_bytes() -> int:
    """Bytes this process can still allocate without swapping or being killed.

    The kernel's `MemAvailable`, lowered by a container's (cgroup) limit
    minus its current use, since a container sees the host's meminfo, and
    by the address space left under this process's `RLIMIT_AS` (`ulimit -v`).
    """
    try:
        with open("/proc/meminfo") as f:
            kib = next(
                int(line.split()[1]) for line in f if line.startswith("MemAvailable:")
            )
        available = kib * 1024
    except (OSError, StopIteration, ValueError, IndexError):
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            available = 8 * 2**30
    for limit_file, usage_file in _CGROUP_MEMORY:
        try:
            with open(limit_file) as limit, open(usage_file) as usage:
                free = int(limit.read()) - int(usage.read())
        except (OSError, ValueError):  # absent, or "max" (no limit)
            continue
        available = min(available, max(0, free))
    left = _address_space_left()
    return available if left is None else min(available, left)


def _address_space_left() -> int | None:
    """Bytes of address space left under `RLIMIT_AS`, or None if unlimited."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
    except (ImportError, OSError, StopIteration, ValueError, IndexError):
        return None
    return max(0, limit - kib * 1024)


def format_bytes(count: int) -> str:
    """1536 -> "1.5 KiB": sizes in messages."""
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    return f"{count} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"


def cached_if_it_fits(
    ds: tf.data.Dataset, count: int, image_size: int, channels: int, description: str
) -> tf.data.Dataset:
    """Caches decoded images in memory when they fit, and says so if not."""
    needed = count * image_size * image_size * channels
    budget = cache_budget_bytes()
    if needed <= budget:
        return ds.cache()
    logger.warning(
        "%s: %.1f GiB of decoded images exceed the %.1f GiB memory cache "
        "budget; decoding them again every epoch.",
        description,
        needed / 2**30,
        budget / 2**30,
    )
    return ds
