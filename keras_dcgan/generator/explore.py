"""Exploring a trained generator, as in section 6 of the DCGAN paper.

- `interpolate` / `interpolation_grid`: smooth walks between latent points;
  a model that memorised would jump, not morph (paper section 6.1).
- `latent_arithmetic`: "smiling woman - neutral woman + neutral man" on the
  averages of a few latents per concept (section 6.3).

Figures are written by `save_interpolation` and `save_arithmetic`,
atomically like every file of the package. The memorisation check
(samples beside their nearest training images) is `nearest.py`'s.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
from collections.abc import Sequence

import keras
import numpy as np
from PIL import Image

from keras_dcgan import bounds
from keras_dcgan.atomic import atomic_write
from keras_dcgan.errors import DataError
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.visualize import SOFTWARE, image_grid, save_png, to_pil, write_gif

logger = logging.getLogger(__name__)

METHODS = ("slerp", "lerp")


def interpolate(z0, z1, steps: int, method: str = "slerp") -> np.ndarray:
    """Points on the way from `z0` to `z1`, both ends included.

    Slerp (the default) walks along the great circle: Gaussian latents of
    high dimension lie near a sphere, and the straight line (lerp) between
    two of them passes through its low-norm inside, which G rarely saw.

    Args:
        z0: Start vector [nz], finite.
        z1: End vector [nz], finite.
        steps: Points, 2 to `bounds.MAX_GRID_IMAGES`.
        method: "slerp" or "lerp".

    Returns:
        float32 [steps, nz]; row 0 is `z0` and the last row `z1`.

    Example:
        >>> interpolate(np.ones(4), -np.ones(4), 5).shape
        (5, 4)
    """
    bounds.check_choice(method, METHODS, "method", DataError)
    steps = bounds.check_int(steps, 2, bounds.MAX_GRID_IMAGES, "steps", DataError)
    z0, z1 = (
        bounds.finite_array(
            z, name, DataError, ndim=1, max_elements=bounds.MAX_LATENT_DIM
        ).astype(np.float64)
        for z, name in ((z0, "z0"), (z1, "z1"))
    )
    if z0.shape != z1.shape or not z0.size:
        raise DataError(
            f"z0 {z0.shape} and z1 {z1.shape}: give two latent vectors of one size."
        )
    t = np.linspace(0.0, 1.0, steps)[:, None]
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    cos = np.clip(np.dot(z0, z1) / norms, -1.0, 1.0) if norms > 0 else 1.0
    omega = np.arccos(cos)
    # Nearly parallel vectors: slerp's weights are 0/0; lerp is the limit.
    if method == "lerp" or np.sin(omega) < 1e-6:
        points = (1.0 - t) * z0 + t * z1
    else:
        points = (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(
            omega
        )
    points[0], points[-1] = z0, z1  # exact ends, free of rounding
    return points.astype(np.float32)


def interpolation_grid(
    generator: keras.Model,
    rows: int = 8,
    steps: int = 10,
    method: str = "slerp",
    seed: int | None = None,
) -> np.ndarray:
    """Images along `rows` walks between random pairs of latents.

    Args:
        generator: A DCGAN generator.
        rows: Walks (independent pairs of end points).
        steps: Images per walk.
        method: "slerp" or "lerp".
        seed: Same seed, same end points.

    Returns:
        uint8 [rows, steps, H, W, C].

    Raises:
        DataError: See `check_grid`.

    Example:
        >>> interpolation_grid(g, rows=2, steps=5, seed=0).shape
        (2, 5, 28, 28, 1)
    """
    rows, steps = check_grid(rows, steps)
    ends = sample_latents(2 * rows, generator.input_shape[-1], seed)
    z = np.concatenate(
        [interpolate(ends[2 * r], ends[2 * r + 1], steps, method) for r in range(rows)]
    )
    return generate(generator, z).reshape(
        (rows, steps) + tuple(generator.output_shape[1:])
    )


def check_grid(rows: int, steps: int) -> tuple:
    """Refuses `rows` walks of `steps` images that would not fit one
    picture (`bounds.MAX_GRID_IMAGES`), with a `DataError`; returns
    (rows, steps) as ints."""
    rows = bounds.check_int(rows, 1, bounds.MAX_GRID_IMAGES // 2, "rows", DataError)
    steps = bounds.check_int(steps, 2, bounds.MAX_GRID_IMAGES, "steps", DataError)
    if rows * steps > bounds.MAX_GRID_IMAGES:
        raise DataError(
            f"rows={rows} x steps={steps} = {rows * steps} images; one "
            f"picture holds at most {bounds.MAX_GRID_IMAGES}. Ask for fewer "
            "rows or steps, or make several pictures with other seed=."
        )
    return rows, steps


def save_interpolation(
    images: np.ndarray, path: str, seconds_per_frame: float = 0.1
) -> None:
    """Writes walks [rows, steps, H, W, C] as a PNG grid or an animated GIF.

    The PNG has one walk per row; the GIF shows all walks side by side,
    moving forth and back along them.

    Args:
        images: uint8 [rows, steps, H, W, C], as `interpolation_grid` gives.
        path: A `.png` or `.gif` file.
        seconds_per_frame: GIF frame time, 0.01 to 60.

    Raises:
        DataError: `images` not uint8 [rows, steps, H, W, C], `path` not a
            `.png` or `.gif` name, or the frame time out of range.
    """
    path = bounds.check_path(path, "path", DataError)
    if not path.lower().endswith((".png", ".gif")):
        raise DataError(f"path={path}: use a .png or .gif file name.")
    seconds_per_frame = bounds.check_float(
        seconds_per_frame, 0.01, 60.0, "seconds_per_frame", DataError
    )
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 5
        or images.shape[-1] not in (1, 3)
        or not images.size
    ):
        raise DataError(
            "images: give uint8 walks [rows, steps, H, W, C], as "
            "interpolation_grid makes them."
        )
    rows, steps = images.shape[:2]
    if path.lower().endswith(".gif"):
        frames = [
            to_pil(image_grid(images[:, s], columns=rows))
            for s in list(range(steps)) + list(range(steps - 2, 0, -1))
        ]
        frames = [f.resize((f.width * 2, f.height * 2), Image.NEAREST) for f in frames]
        write_gif(frames, path, seconds_per_frame)
    else:
        save_png(
            image_grid(images.reshape((-1,) + images.shape[2:]), columns=steps), path
        )


@dataclasses.dataclass
class Arithmetic:
    """The parts of one latent sum, for pictures and checks.

    Attributes:
        groups: The latents of each group, in display order.
        signs: +1 or -1 per group.
        means: float32 [groups, nz], the average of each group.
        result: float32 [nz], the signed sum of the means.
        variations: float32 [1 + num_variations, nz]; row 0 is `result`,
            the others `result` plus small uniform noise.
    """

    groups: list
    signs: list
    means: np.ndarray
    result: np.ndarray
    variations: np.ndarray


def latent_arithmetic(
    latents,
    plus_groups: Sequence[Sequence[int]],
    minus_groups: Sequence[Sequence[int]] = (),
    num_variations: int = 8,
    noise: float = 0.25,
    seed: int | None = None,
) -> Arithmetic:
    """Averages groups of latents and adds / subtracts the averages.

    With plus groups A, C and minus group B this is the paper's A - B + C.
    Like the paper, the result is shown with `num_variations` copies jittered
    by uniform noise in [-noise, noise], to show the concept is stable.

    Args:
        latents: float [N, nz], e.g. saved by `keras-dcgan sample
            --save-latents`.
        plus_groups: Index lists into `latents` to add (the paper uses 3).
        minus_groups: Index lists to subtract.
        num_variations: Jittered copies of the result.
        noise: Half-width of the uniform jitter.
        seed: Same seed, same jitter.

    Returns:
        An `Arithmetic`; groups are ordered plus, minus, plus, minus, ...

    Raises:
        DataError: Latents that are not finite [N, nz], an index that is
            not an integer from 0 to N - 1 (negative ones too), groups beyond
            `check_groups`, `num_variations` outside 1 to
            `bounds.MAX_VARIATIONS`, or `noise` not finite in
            [0, `bounds.MAX_NOISE`].

    Example:
        >>> r = latent_arithmetic(z, [[0, 1, 2], [6, 7, 8]], [[3, 4, 5]])
        >>> r.result.shape
        (100,)
    """
    latents = bounds.finite_array(
        latents,
        "latents",
        DataError,
        ndim=2,
        max_elements=bounds.MAX_IMAGES * bounds.MAX_LATENT_DIM,
    )
    check_groups(plus_groups, minus_groups)
    num_variations = bounds.check_int(
        num_variations, 1, bounds.MAX_VARIATIONS, "num_variations", DataError
    )
    noise = bounds.check_float(noise, 0.0, bounds.MAX_NOISE, "noise", DataError)
    order = []
    for i in range(max(len(plus_groups), len(minus_groups))):
        order += [(1, g) for g in plus_groups[i : i + 1]]
        order += [(-1, g) for g in minus_groups[i : i + 1]]
    groups = []
    for _sign, indices in order:
        bad = [i for i in indices if not 0 <= i < len(latents)]
        if not indices or bad:
            raise DataError(
                f"Group {list(indices)}: indices {bad or 'missing'}; the "
                f"latents file holds {len(latents)} vectors (0 to "
                f"{len(latents) - 1})."
            )
        groups.append(latents[[int(i) for i in indices]])
    means = np.stack([g.mean(axis=0) for g in groups])
    signs = [sign for sign, _ in order]
    result = np.einsum("g,gd->d", np.asarray(signs, np.float32), means)
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(-noise, noise, (num_variations, result.size))
    variations = np.concatenate([result[None], result + jitter])
    return Arithmetic(
        groups,
        signs,
        means.astype(np.float32),
        result.astype(np.float32),
        variations.astype(np.float32),
    )


def check_groups(
    plus_groups: Sequence[Sequence[int]], minus_groups: Sequence[Sequence[int]] = ()
) -> None:
    """Refuses, with a `DataError`, no plus group, or more groups (or
    larger ones) than one figure shows: `bounds.MAX_GROUPS`,
    `bounds.MAX_GROUP_SIZE`."""
    for name, groups in (("plus_groups", plus_groups), ("minus_groups", minus_groups)):
        if not _is_sequence(groups) or not all(
            _is_sequence(group)
            and all(
                isinstance(i, numbers.Integral) and not isinstance(i, bool)
                for i in group
            )
            for group in groups
        ):
            raise DataError(
                f"{name}: give a list of groups, each a list of latent "
                "indices (integers), e.g. [[0, 1, 2], [6, 7, 8]]."
            )
    if not plus_groups:
        raise DataError("Give at least one plus_groups= group of indices.")
    groups = list(plus_groups) + list(minus_groups)
    if len(groups) > bounds.MAX_GROUPS:
        raise DataError(
            f"{len(groups)} groups of plus_groups= and minus_groups=: use at "
            f"most {bounds.MAX_GROUPS} (one row of the figure "
            "each)."
        )
    for group in groups:
        if not 1 <= len(group) <= bounds.MAX_GROUP_SIZE:
            raise DataError(
                f"A group of {len(group)} indices: give 1 to "
                f"{bounds.MAX_GROUP_SIZE} per plus_groups= and minus_groups=."
            )


def _is_sequence(value) -> bool:
    """A list, tuple or 1-D array, not text (a str is a sequence too)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def save_arithmetic(generator: keras.Model, arithmetic: Arithmetic, path: str) -> None:
    """Draws the paper's latent-arithmetic figure into a PNG, atomically.

    One row per group: its images, then the image of its average latent
    (framed by the sign); the last row: the result, then its variations.

    Args:
        generator: The generator the latents belong to.
        arithmetic: As returned by `latent_arithmetic`.
        path: The PNG file.

    Raises:
        DataError: `arithmetic` is not an `Arithmetic`, or `path` not a
            `.png` file name.
    """
    path = bounds.check_path(path, "path", DataError)
    if not path.lower().endswith(".png"):
        raise DataError(f"path={path}: use a .png file name.")
    if not isinstance(arithmetic, Arithmetic):
        raise DataError(
            f"arithmetic: a {type(arithmetic).__name__}, not the Arithmetic "
            "that latent_arithmetic returns."
        )
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [
        (
            generate(generator, g),
            generate(generator, m[None])[0],
            "+" if s > 0 else "\u2212",
        )
        for g, m, s in zip(arithmetic.groups, arithmetic.means, arithmetic.signs)
    ]
    result = generate(generator, arithmetic.variations)
    fig, axes = plt.subplots(
        len(rows) + 1,
        2,
        figsize=(9, 1.4 * len(rows) + 2),
        gridspec_kw={"width_ratios": [3, 1]},
        squeeze=False,
    )
    for i, ((members, mean, sign), (left, right)) in enumerate(zip(rows, axes)):
        _show(
            left,
            image_grid(members, columns=len(members)),
            f"{chr(65 + i)} ({sign}): its latents",
        )
        _show(right, image_grid(mean[None]), f"{chr(65 + i)}: their average")
    expression = " ".join(
        ("" if i == 0 and s > 0 else ("+ " if s > 0 else "\u2212 ")) + chr(65 + i)
        for i, s in enumerate(arithmetic.signs)
    )
    _show(
        axes[-1][0],
        image_grid(result[1:], columns=len(result) - 1),
        "the result plus uniform noise",
    )
    _show(axes[-1][1], image_grid(result[:1]), f"= {expression}")
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png", metadata={"Software": SOFTWARE})
    plt.close(fig)


def _show(ax, picture: np.ndarray, title: str) -> None:
    ax.imshow(
        picture[..., 0] if picture.shape[-1] == 1 else picture,
        cmap="gray",
        vmin=0,
        vmax=255,
        interpolation="nearest",
    )
    ax.set_title(title, fontsize=9)
    ax.axis("off")
