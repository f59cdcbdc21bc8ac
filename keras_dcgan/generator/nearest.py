"""Did the generator memorise? Generated samples beside their nearest
training images in pixel space (the check of the DCGAN paper, section 6).

Distances are Euclidean over all pixels scaled to [0, 1], so a 28x28 image
differs from an exact copy by 0 and from an all-inverted one by 28.
"""

from __future__ import annotations

import logging

import numpy as np

from keras_dcgan import bounds
from keras_dcgan.data import to_uint8
from keras_dcgan.errors import DataError
from keras_dcgan.visualize import save_png

logger = logging.getLogger(__name__)

CHUNK = 4096  # training images per distance matrix: bounds memory


def _flat(images, name: str = "images") -> np.ndarray:
    """uint8 (or float in [-1, 1]) images -> float32 [N, pixels] in [0, 1].

    Raises:
        DataError: Not images [N, H, W(, C)] of real numbers, none, or
            float ones with NaN or infinite values.
    """
    try:
        images = np.asarray(images)
    except (TypeError, ValueError) as e:  # ragged nested lists
        raise DataError(f"{name}: not an array of images ({e}).") from e
    if images.dtype.kind not in "biuf" or images.ndim not in (3, 4) or not len(images):
        raise DataError(
            f"{name}: {images.dtype} {images.shape}; give images [N, H, W, C], "
            "uint8 or float in [-1, 1]."
        )
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise DataError(f"{name} hold NaN or infinite values.")
    if images.dtype != np.uint8:
        images = to_uint8(images)
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def nearest_neighbours(samples, train_images, k: int = 1):
    """The `k` training images closest to each sample, in pixel space.

    Args:
        samples: [N, H, W, C] uint8 (or float in [-1, 1]).
        train_images: [M, H, W, C], same shape per image.
        k: Neighbours per sample.

    Returns:
        (indices, distances): int64 [N, k] into `train_images` and float32
        [N, k] Euclidean distances, nearest first.

    Example:
        >>> idx, dist = nearest_neighbours(generated, x_train, k=3)
    """
    samples, train = _flat(samples, "samples"), _flat(train_images, "train_images")
    if samples.shape[1] != train.shape[1]:
        raise DataError(
            f"Samples have {samples.shape[1]} values per image, training "
            f"images {train.shape[1]}; load the data at the run's image "
            "size and channels."
        )
    k = bounds.check_int(
        k, 1, len(train), "k (neighbours; at most the training set)", DataError
    )
    best_d = np.full((len(samples), 0), np.inf, np.float32)
    best_i = np.zeros((len(samples), 0), np.int64)
    sample_sq = (samples**2).sum(1, keepdims=True)
    for start in range(0, len(train), CHUNK):
        chunk = train[start : start + CHUNK]
        # |a-b|^2 = |a|^2 + |b|^2 - 2ab: one matmul instead of N*M loops.
        d2 = sample_sq + (chunk**2).sum(1)[None] - 2.0 * samples @ chunk.T
        best_d = np.concatenate([best_d, d2], axis=1)
        best_i = np.concatenate(
            [best_i, np.broadcast_to(np.arange(start, start + len(chunk)), d2.shape)],
            axis=1,
        )
        keep = np.argsort(best_d, axis=1, kind="stable")[:, :k]
        best_d = np.take_along_axis(best_d, keep, 1)
        best_i = np.take_along_axis(best_i, keep, 1)
    # Exact distances for the winners: the expansion above loses precision
    # near 0, and a planted copy must read as 0.
    exact = np.linalg.norm(samples[:, None] - train[best_i], axis=-1)
    return best_i, exact.astype(np.float32)


def training_distances(train_images, num: int = 500, seed: int | None = 0) -> dict:
    """Reference distances within the training set.

    Args:
        train_images: [M, H, W, C].
        num: Training images to measure from (a random subset).
        seed: Subset choice.

    Returns:
        {"nearest": mean distance from a training image to its nearest
        *other* training image, "pairwise": mean distance between two random
        training images}.
    """
    num = bounds.check_int(num, 1, bounds.MAX_IMAGES, "num", DataError)
    if seed is not None:
        seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    train = np.asarray(train_images)
    if train.ndim not in (3, 4) or len(train) < 2:
        raise DataError("Need at least 2 training images to compare.")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(train), min(num, len(train)), replace=False)
    _, dist = nearest_neighbours(train[picked], train, k=2)
    # Column 0 is the image itself (distance 0) unless it has a duplicate.
    nearest = float(dist[:, 1].mean())
    other = rng.choice(len(train), len(picked))
    pairwise = float(
        np.linalg.norm(_flat(train[picked]) - _flat(train[other]), axis=1).mean()
    )
    return {"nearest": nearest, "pairwise": pairwise}


def save_nearest(
    samples, train_images, indices, path: str, rows_per_panel: int = 8
) -> None:
    """Writes samples beside their neighbours as a PNG, atomically.

    Each line: a generated image, a gap, then its nearest training images,
    nearest first. Lines are stacked in panels of `rows_per_panel`, side by
    side.

    Args:
        samples: uint8 [N, H, W, C].
        train_images: uint8 [M, H, W, C].
        indices: [N, k] from `nearest_neighbours`.
        path: The PNG file.

    Raises:
        DataError: Arrays that do not fit each other, `path` not a `.png`
            file name, `rows_per_panel` out of range.
    """
    path = bounds.check_path(path, "path", DataError)
    if not path.lower().endswith(".png"):
        raise DataError(f"path={path}: use a .png file name.")
    rows_per_panel = bounds.check_int(
        rows_per_panel, 1, bounds.MAX_NEAREST, "rows_per_panel", DataError
    )
    samples, train_images = np.asarray(samples), np.asarray(train_images)
    indices = np.asarray(indices)
    if (
        samples.dtype != np.uint8
        or samples.ndim != 4
        or samples.shape[-1] not in (1, 3)
        or train_images.dtype != np.uint8
        or train_images.shape[1:] != samples.shape[1:]
        or indices.dtype.kind not in "iu"
        or indices.shape[:1] != samples.shape[:1]
        or indices.ndim != 2
        or not 1 <= indices.shape[1] <= bounds.MAX_NEIGHBOURS
        or not 1 <= len(samples) <= bounds.MAX_NEAREST
        or (
            indices.size and not 0 <= indices.min() <= indices.max() < len(train_images)
        )
    ):
        raise DataError(
            "save_nearest: give uint8 samples [N, H, W, C] (N up to "
            f"{bounds.MAX_NEAREST}), training images of that size, and the "
            "[N, k] indices nearest_neighbours returned for them."
        )
    n, h, w, c = samples.shape
    k = indices.shape[1]
    pad, gap = 2, 6
    line_w = pad + w + gap + k * (w + pad)
    panels = -(-n // rows_per_panel)
    rows = min(n, rows_per_panel)
    picture = np.full((pad + rows * (h + pad), panels * (line_w + gap), c), 0, np.uint8)
    for i in range(n):
        top = pad + (i % rows_per_panel) * (h + pad)
        left = (i // rows_per_panel) * (line_w + gap) + pad
        picture[top : top + h, left : left + w] = samples[i]
        # A mid-grey bar between the sample and its neighbours.
        picture[top : top + h, left + w + 2 : left + w + gap - 2] = 128
        for j in range(k):
            x = left + w + gap + j * (w + pad)
            picture[top : top + h, x : x + w] = train_images[indices[i, j]]
    save_png(picture, path)
