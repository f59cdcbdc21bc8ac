"""The latent space: noise vectors and the images a generator makes of them."""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np

from keras_dcgan.data import to_uint8


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
