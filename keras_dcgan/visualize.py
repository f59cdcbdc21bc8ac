"""Pictures of a run: sample grids, the loss curves and a progress GIF."""

from __future__ import annotations

import io
import logging
import math
import zipfile
from collections.abc import Sequence

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from keras_dcgan.atomic import atomic_write
from keras_dcgan.data.preprocess import to_uint8
from keras_dcgan.reading import open_regular, read_bounded

logger = logging.getLogger(__name__)

# A sample grid is a few hundred KiB at most (64 images of 64 px).
MAX_FRAME_BYTES = 64 * 2**20
MAX_FRAME_PIXELS = 2**24
# What marks a picture or an image array as written by this package.
SOFTWARE = "keras-dcgan"
NPZ_MARK = "keras_dcgan"


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
        to_pil(array).save(tmp, format="PNG", pnginfo=png_info())


def png_info() -> PngInfo:
    """The PNG text chunk that marks a picture as this package's."""
    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    return info


def written_here(path: str) -> bool:
    """Whether `path` is a picture (`.png`, `.gif`) or an image array
    (`.npz`) this package wrote: only such a file an output flag replaces.

    PNGs carry a `Software: keras-dcgan` text chunk, GIFs that comment, and
    `.npz` image arrays a `keras_dcgan` member beside `x`. Never raises: a
    file that cannot be read is not this package's.
    """
    try:
        with open_regular(path) as f:
            if path.lower().endswith(".npz"):
                with zipfile.ZipFile(f) as archive:
                    return NPZ_MARK + ".npy" in archive.namelist()
            with Image.open(f) as image:
                if image.format == "PNG":
                    return image.info.get("Software") == SOFTWARE
                comment = image.info.get("comment", b"")
                return image.format == "GIF" and comment == SOFTWARE.encode()
    except (OSError, ValueError, zipfile.BadZipFile, Image.DecompressionBombError):
        return False


def save_gif(paths: Sequence[str], path: str, seconds_per_frame=0.5) -> None:
    """Joins PNG frames into a looping GIF, atomically.

    A frame that is not a regular file (a FIFO would hang the read), is
    larger than `MAX_FRAME_BYTES` or cannot be decoded is left out, with
    a warning.
    """
    frames = [frame for frame in map(_read_frame, paths) if frame is not None]
    if frames:
        write_gif(frames, path, seconds_per_frame)


def write_gif(
    frames: Sequence[Image.Image], path: str, seconds_per_frame: float
) -> None:
    """Writes Pillow frames as a looping GIF, atomically, with the comment
    that marks it as this package's (`written_here`); the one GIF writer of
    the package (`save_gif`, `explore.save_interpolation`).

    Args:
        frames: At least one image.
        path: The `.gif` file.
        seconds_per_frame: How long each frame shows.
    """
    with atomic_write(path) as tmp:
        frames[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=list(frames[1:]),
            loop=0,
            duration=int(seconds_per_frame * 1000),
            comment=SOFTWARE,
        )


def _read_frame(path: str) -> Image.Image | None:
    """One GIF frame, read as bounded bytes; None (logged) if unusable."""
    try:
        raw = read_bounded(path, MAX_FRAME_BYTES)
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > MAX_FRAME_PIXELS:
                raise ValueError(f"{image.width}x{image.height} pixels")
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        logger.warning("%s is left out of the GIF: %s.", path, e)
        return None


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
        fig.savefig(tmp, dpi=100, format="png", metadata={"Software": SOFTWARE})
    plt.close(fig)


def save_images(images: np.ndarray, path: str) -> None:
    """Saves uint8 images [N, H, W, C]: a grid for `.png`, array `x` for
    `.npz`; atomically."""
    if path.lower().endswith(".npz"):
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            # A file: no suffix appended. The mark tells it from a user's
            # data (`written_here`); loaders read `x` and ignore it.
            np.savez_compressed(f, x=images, **{NPZ_MARK: np.array(SOFTWARE)})
    else:
        save_png(image_grid(images), path)
