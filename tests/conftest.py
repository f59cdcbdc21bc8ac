import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_dcgan  # noqa: E402,F401  (first: it picks TensorFlow's CPU kernels)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs, so that tf.distribute tests have two replicas. Must
# happen before TensorFlow initialises its devices; ops still go to the
# first one unless a strategy says otherwise.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2)

from keras_dcgan.config import DCGANConfig  # noqa: E402

TINY = dict(image_size=28, channels=1, latent_dim=8, generator_width=8,
            discriminator_width=8, batch_size=16, num_samples=16)


@pytest.fixture
def tiny_config():
    """A model small enough to train in seconds."""
    return DCGANConfig(**TINY)


def make_images(n=64, size=28, channels=None, seed=0):
    """Blobs on a dark background, uint8 [n, size, size(, channels)]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = []
    for _ in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        r = rng.uniform(size * 0.15, size * 0.3)
        images.append(255 * ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r))
    x = np.asarray(images, np.uint8)
    if channels:
        x = np.repeat(x[..., None], channels, axis=-1)
    return x


@pytest.fixture
def npz_file(tmp_path):
    path = tmp_path / "blobs.npz"
    np.savez(path, x=make_images(64))
    return str(path)


def exit_code(argv):
    """`keras-dcgan ARGV`'s exit code in-process: what `main` returns, or
    the code of argparse's usage errors (a flag out of its range)."""
    from keras_dcgan.cli import main

    try:
        return main(argv)
    except SystemExit as e:
        return e.code
