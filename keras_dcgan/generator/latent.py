"""The latent space: noise vectors and the images a generator makes of them."""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np

from keras_dcgan.atomic import atomic_write
from keras_dcgan.data import to_uint8
from keras_dcgan.errors import DataError


def sample_latents(num: int, latent_dim: int,
                   seed: Optional[int] = None) -> np.ndarray:
    """Standard-normal latent vectors, the distribution G was trained on.

    Args:
        num: How many vectors.
        latent_dim: Their size.
        seed: Same seed, same vectors.

    Returns:
        float32 array [num, latent_dim].
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((num, latent_dim)).astype(np.float32)


def generate(generator: keras.Model, z, batch_size: int = 256) -> np.ndarray:
    """Runs the generator in inference mode, in batches.

    Args:
        generator: A DCGAN generator.
        z: float array [N, latent_dim].
        batch_size: Latents per forward pass.

    Returns:
        uint8 images [N, H, W, C].
    """
    z = np.asarray(z, dtype=np.float32)
    out = [to_uint8(generator(z[i:i + batch_size], training=False))
           for i in range(0, len(z), batch_size)]
    return np.concatenate(out) if out else np.zeros(
        (0,) + tuple(generator.output_shape[1:]), np.uint8)


def save_latents(z, path: str) -> None:
    """Saves latents [N, nz] as a `.npy` file, atomically.

    Args:
        z: float array [N, latent_dim].
        path: File name ending in `.npy`.
    """
    if not path.lower().endswith(".npy"):
        raise DataError(f"--save-latents {path}: use a .npy file name.")
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(z, np.float32))  # a file: no suffix appended


def load_latents(path: str, latent_dim: int) -> np.ndarray:
    """Reads latents saved by `save_latents`, checked against a generator.

    Args:
        path: A `.npy` file of shape [N, latent_dim].
        latent_dim: The generator's latent size.

    Returns:
        float32 [N, latent_dim].
    """
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"--latents {path}: cannot read it as a .npy array "
                        f"({e}). Write it with `sample --save-latents`.") from e
    if not isinstance(z, np.ndarray) or z.ndim != 2 or z.shape[1] != latent_dim:
        raise DataError(
            f"--latents {path}: shape {getattr(z, 'shape', None)}, expected "
            f"[N, {latent_dim}] for this generator; save them with "
            "`keras-dcgan sample RUN --save-latents` from the same run.")
    return z.astype(np.float32)
