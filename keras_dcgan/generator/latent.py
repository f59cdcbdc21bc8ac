"""The latent space: noise vectors and the images a generator makes of them."""

from __future__ import annotations

import itertools
import os
import stat

import keras
import numpy as np

from keras_dcgan import bounds
from keras_dcgan.atomic import atomic_write
from keras_dcgan.data import to_uint8
from keras_dcgan.errors import DataError
from keras_dcgan.reading import open_regular


def sample_latents(num: int, latent_dim: int, seed: int | None = None) -> np.ndarray:
    """Standard-normal latent vectors, the distribution G was trained on.

    Args:
        num: How many vectors, 0 to `bounds.MAX_IMAGES`.
        latent_dim: Their size, 1 to `bounds.MAX_LATENT_DIM`.
        seed: Same seed, same vectors: 0 to `bounds.MAX_SEED`, or None.

    Returns:
        float32 array [num, latent_dim].

    Raises:
        DataError: `num`, `latent_dim` or `seed` out of range.
    """
    num = bounds.check_int(num, 0, bounds.MAX_IMAGES, "num", DataError)
    latent_dim = bounds.check_int(
        latent_dim, 1, bounds.MAX_LATENT_DIM, "latent_dim", DataError
    )
    if seed is not None:
        seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    rng = np.random.default_rng(seed)
    out = np.empty((num, latent_dim), np.float32)
    # In float64 blocks of about 8 MiB, the same stream as one call: the
    # float64 copy of a whole large draw took twice the result's memory.
    rows = max(1, 2**20 // latent_dim)
    for start in range(0, num, rows):
        out[start : start + rows] = rng.standard_normal(
            (min(rows, num - start), latent_dim)
        )
    return out


def seed_latents(seeds, latent_dim: int) -> np.ndarray:
    """One standard-normal latent per seed, each drawn from its own seed.

    Row i depends on `seeds[i]` alone, not on the other seeds or their
    order, so one seed names one image whichever range it is drawn in.

    Args:
        seeds: Integers from 0 to `bounds.MAX_SEED`, at most
            `bounds.MAX_SEEDS` of them.
        latent_dim: The vectors' size, 1 to `bounds.MAX_LATENT_DIM`.

    Returns:
        float32 array [len(seeds), latent_dim].

    Raises:
        DataError: Too many seeds, or one out of range.

    Example:
        >>> np.array_equal(seed_latents([3], 8)[0], seed_latents([0, 3], 8)[1])
        True
    """
    latent_dim = bounds.check_int(
        latent_dim, 1, bounds.MAX_LATENT_DIM, "latent_dim", DataError
    )
    seeds = check_seeds(seeds)
    z = np.empty((len(seeds), latent_dim), np.float32)
    for i, seed in enumerate(seeds):
        z[i] = np.random.default_rng(seed).standard_normal(latent_dim)
    return z


def check_seeds(seeds) -> list:
    """`seeds` as a list of ints from 0 to `bounds.MAX_SEED`, at most
    `bounds.MAX_SEEDS` of them.

    Raises:
        DataError: Too many seeds, or one out of range.
    """
    # One past the bound is enough to refuse; range(10**12) is never listed.
    seeds = list(itertools.islice(seeds, bounds.MAX_SEEDS + 1))
    bounds.check_int(len(seeds), 0, bounds.MAX_SEEDS, "the number of seeds", DataError)
    return [bounds.check_int(s, 0, bounds.MAX_SEED, "seeds", DataError) for s in seeds]


def seed_image_name(seed: int) -> str:
    """`seed0042.png`: the file `save_seed_images` writes for a seed, named
    as stylegan2-ada's `--seeds` names it (at least four digits)."""
    return f"seed{seed:04d}.png"


def check_seed_folder(outdir: str, seeds) -> None:
    """Refuses, before any work, a `--outdir` that `save_seed_images`
    must not write into.

    The folder may be new (it is made) or exist with other files in it,
    which are left alone; a file under one of the seeds' names is replaced
    only when keras-dcgan wrote it (its `Software` text chunk says so).

    Args:
        outdir: The folder.
        seeds: The seeds whose PNGs will be written.

    Raises:
        DataError: `outdir` is a file or other non-folder, lies inside a
            run, its nearest existing folder is not writable, or a seed's
            name in it is taken by something keras-dcgan did not write.
    """
    from keras_dcgan.runs.ownership import enclosing_run
    from keras_dcgan.visualize import written_here

    outdir = bounds.check_path(outdir, "outdir", DataError)
    if os.path.lexists(outdir) and not os.path.isdir(outdir):
        raise DataError(
            f"outdir={outdir} exists and is not a folder; name a folder "
            "(new, or one that holds images)."
        )
    run = enclosing_run(os.path.join(outdir, "x"))
    if run is not None:
        raise DataError(
            f"outdir={outdir} is inside the run {run}, which holds only "
            "what training writes; name a folder outside it."
        )
    existing = os.path.abspath(outdir)
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(
            f"outdir={outdir}: the folder {existing} is not writable; choose another."
        )
    if existing != os.path.abspath(outdir):
        return  # a new folder holds nothing to replace
    for seed in seeds:
        path = os.path.join(outdir, seed_image_name(seed))
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode) or not written_here(path):
            raise DataError(
                f"outdir={outdir}: {path} exists and is not a picture "
                "keras-dcgan wrote; it is not replaced. Name a new folder, "
                "or move it away."
            )


def save_seed_images(
    generator: keras.Model, seeds, outdir: str, batch_size: int = 64
) -> int:
    """Writes one PNG per seed, `OUTDIR/seed0042.png`, the folder layout
    clean-fid, torch-fidelity and pytorch-fid read.

    Each image's latent comes from its own seed (`seed_latents`) and every
    forward pass has `batch_size` rows (the last one padded), so a seed
    gives the same PNG, byte for byte, in any range or order. Memory is
    one batch at a time; each PNG is written atomically and carries the
    `Software: keras-dcgan` text chunk.

    Args:
        generator: A DCGAN generator.
        seeds: Integers from 0 to `bounds.MAX_SEED`, at most
            `bounds.MAX_SEEDS`; repeats are written once.
        outdir: The folder, made if missing; see `check_seed_folder`.
        batch_size: Latents per forward pass, 1 to 1024.

    Returns:
        How many PNGs were written.

    Raises:
        DataError: As `check_seed_folder` and `seed_latents`.

    Example:
        >>> save_seed_images(generator, range(50_000), "fakes")
        50000
    """
    from keras_dcgan.visualize import save_png

    generator_shapes(generator)
    seeds = list(dict.fromkeys(check_seeds(seeds)))
    latent_dim = int(generator.input_shape[-1])
    batch_size = bounds.check_int(batch_size, 1, 1024, "batch_size", DataError)
    check_seed_folder(outdir, seeds)
    os.makedirs(outdir, exist_ok=True)
    for start in range(0, len(seeds), batch_size):
        chunk = seeds[start : start + batch_size]
        z = np.zeros((batch_size, latent_dim), np.float32)
        z[: len(chunk)] = seed_latents(chunk, latent_dim)
        images = generate(generator, z, batch_size)[: len(chunk)]
        for seed, image in zip(chunk, images):
            save_png(image, os.path.join(outdir, seed_image_name(seed)))
    return len(seeds)


def generate(generator: keras.Model, z, batch_size: int = 256) -> np.ndarray:
    """Runs the generator in inference mode, in batches.

    Args:
        generator: A DCGAN generator.
        z: float array [N, latent_dim] of finite values.
        batch_size: Latents per forward pass, 1 to `bounds.MAX_BATCH`.

    Returns:
        uint8 images [N, H, W, C].

    Raises:
        DataError: `z` is not finite numbers [N, latent_dim] (NaN or
            infinite latents would give black images), `batch_size` is out
            of range, or the images would take more than
            `bounds.MAX_GENERATED_BYTES`.
    """
    in_shape, out_shape = generator_shapes(generator)
    batch_size = bounds.check_int(
        batch_size, 1, bounds.MAX_BATCH, "batch_size", DataError
    )
    z = bounds.finite_array(
        z,
        "latents z",
        DataError,
        ndim=2,
        max_elements=bounds.MAX_IMAGES * bounds.MAX_LATENT_DIM,
    )
    if z.shape[1] != in_shape[-1]:
        raise DataError(
            f"latents z of shape {z.shape}: this generator takes [N, {in_shape[-1]}]."
        )
    size = len(z) * int(np.prod(out_shape[1:]))
    if size > bounds.MAX_GENERATED_BYTES:
        raise DataError(
            f"{len(z)} images of {generator.output_shape[1:]} would take "
            f"{size / 2**30:.1f} GiB, above the "
            f"{bounds.MAX_GENERATED_BYTES / 2**30:.0f} GiB one call makes; "
            "ask for fewer (num=) and call again."
        )
    out = [
        to_uint8(generator(z[i : i + batch_size], training=False))
        for i in range(0, len(z), batch_size)
    ]
    return (
        np.concatenate(out) if out else np.zeros((0,) + tuple(out_shape[1:]), np.uint8)
    )


def generator_shapes(generator) -> tuple:
    """(input shape, output shape) of a generator: [None, latent_dim] to
    [None, H, W, C].

    Raises:
        DataError: `generator` is not a Keras model of that kind.
    """
    try:
        shapes = tuple(generator.input_shape), tuple(generator.output_shape)
    except (AttributeError, TypeError, ValueError):  # no model, or several ins
        shapes = None
    if (
        not isinstance(generator, keras.Model)
        or shapes is None
        or len(shapes[0]) != 2
        or len(shapes[1]) != 4
        or not all(isinstance(d, int) for d in shapes[0][1:] + shapes[1][1:])
    ):
        raise DataError(
            f"generator: a {type(generator).__name__} that does not map latents "
            "[N, latent_dim] to images [N, H, W, C]; load one with "
            "keras_dcgan.load_generator."
        )
    return shapes


def save_latents(z, path: str) -> None:
    """Saves latents [N, nz] as a `.npy` file, atomically.

    Args:
        z: float array [N, latent_dim].
        path: File name ending in `.npy`.
    """
    path = bounds.check_path(path, "path", DataError)
    if not path.lower().endswith(".npy"):
        raise DataError(f"path={path}: use a .npy file name.")
    z = bounds.finite_array(
        z,
        "latents z",
        DataError,
        ndim=2,
        max_elements=bounds.MAX_IMAGES * bounds.MAX_LATENT_DIM,
    )
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.save(f, z)  # a file: no suffix appended


def is_latents_file(path: str) -> bool:
    """Whether `path` is what `save_latents` writes: a regular `.npy` file
    of float32 vectors [N, nz] (read from its header only)."""
    try:
        with open_regular(path) as f:
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(np.lib.format.read_magic(f))
            if read_header is None:
                return False
            shape, _, dtype = read_header(f)
    except (OSError, ValueError, EOFError):
        return False
    return dtype == np.float32 and len(shape) == 2


def load_latents(path: str, latent_dim: int) -> np.ndarray:
    """Reads latents saved by `save_latents`, checked against a generator.

    Args:
        path: A `.npy` file of shape [N, latent_dim].
        latent_dim: The generator's latent size.

    Returns:
        float32 [N, latent_dim].

    Raises:
        DataError: Not a regular `.npy` file of at most `bounds.MAX_IMAGES`
            finite vectors of size `latent_dim`.
    """
    fix = "Write it with save_latents(z, path), or sample's save_latents=."
    path = bounds.check_path(path, "path", DataError)
    latent_dim = bounds.check_int(
        latent_dim, 1, bounds.MAX_LATENT_DIM, "latent_dim", DataError
    )
    if not os.path.isfile(path):  # a FIFO or a device would never end
        raise DataError(f"path={path}: no such regular file. {fix}")
    try:
        # Memory-mapped: the header's shape is checked before any data is
        # read, so a file claiming 10^12 vectors costs nothing.
        z = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(
            f"path={path}: cannot read it as a .npy array ({e}). {fix}"
        ) from e
    if (
        not isinstance(z, np.ndarray)
        or z.ndim != 2
        or z.shape[1] != latent_dim
        or z.shape[0] > bounds.MAX_IMAGES
    ):
        if hasattr(z, "close"):
            z.close()  # an .npz archive
        raise DataError(
            f"path={path}: shape {getattr(z, 'shape', None)}, expected "
            f"[N, {latent_dim}] with N <= {bounds.MAX_IMAGES} for this "
            "generator; save them with save_latents(z, path), or sample's "
            "save_latents=, from the same run."
        )
    try:
        z = np.array(z, dtype=np.float32)
    except (TypeError, ValueError) as e:  # strings, structured dtypes
        raise DataError(f"path={path}: {z.dtype} is not numbers. {fix}") from e
    if not np.isfinite(z).all():
        raise DataError(f"path={path} holds NaN or infinite values. {fix}")
    return z
