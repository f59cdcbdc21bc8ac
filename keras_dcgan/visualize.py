"""Pictures of a run: sample grids, the loss curves and a progress GIF."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from keras_dcgan.atomic import atomic_write
from keras_dcgan.data.preprocess import to_uint8


def image_grid(images, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles images into one uint8 picture.

    Args:
        images: [N, H, W, C] uint8 (0..255) or float in [-1, 1].
        columns: Images per row (default: a square-ish grid).
        padding: Pixels between images.

    Returns:
        uint8 array [rows*(H+p)+p, cols*(W+p)+p, C].
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c), np.uint8
    )
    for i, image in enumerate(images):
        top = padding + (i // columns) * (h + padding)
        left = padding + (i % columns) * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def to_pil(array: np.ndarray) -> Image.Image:
    """A uint8 [H, W, 1 or 3] array as a Pillow image."""
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def save_png(array: np.ndarray, path: str) -> None:
    """Saves a uint8 picture as PNG, atomically (temp file, then rename)."""
    with atomic_write(path) as tmp:
        to_pil(array).save(tmp, format="PNG")


def save_gif(paths: Sequence[str], path: str, seconds_per_frame=0.5) -> None:
    """Joins PNG frames into a looping GIF, atomically."""
    if not paths:
        return
    frames = [Image.open(p).convert("RGB") for p in paths]
    with atomic_write(path) as tmp:
        frames[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            loop=0,
            duration=int(seconds_per_frame * 1000),
        )


def save_loss_plot(history: dict, path: str) -> None:
    """Plots D and G losses and D's outputs against the step, atomically.

    Args:
        history: Column name -> list of values; uses `step`, `d_loss`,
            `g_loss`, `d_of_real` and `d_of_fake` where present.
        path: PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = history.get("step", [])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        if key in history:
            top.plot(steps, history[key], label=label, linewidth=0.8)
    top.set_ylabel("binary cross-entropy")
    top.legend()
    for key, label in (("d_of_real", "D(x)"), ("d_of_fake", "D(G(z))")):
        if key in history:
            bottom.plot(steps, history[key], label=label, linewidth=0.8)
    bottom.set_ylabel("mean D output")
    bottom.set_xlabel("step")
    bottom.set_ylim(0, 1)
    bottom.legend()
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def save_images(images: np.ndarray, path: str) -> None:
    """Saves uint8 images [N, H, W, C]: a grid for `.png`, array `x` for
    `.npz`; atomically."""
    if path.lower().endswith(".npz"):
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, x=images)  # a file: no suffix appended
    else:
        save_png(image_grid(images), path)
