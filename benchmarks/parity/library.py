"""The library's side: its GAN with the real train step (recording the z
each step draws), its own batches, its pixel scaling."""

from __future__ import annotations

import numpy as np


def build_library(config, library: str = "composite"):
    """The library's GAN with its real train step, recording each step's z.

    Args:
        config: `DCGANConfig`.
        library: "composite" (`CompositeDCGAN`) or "dcgan" (`DCGAN`).

    Returns:
        The GAN; after each `train_step`, `gan.parity_z` holds the z that
        step drew (what the PyTorch side is given).
    """
    from keras_dcgan.composite import CompositeDCGAN
    from keras_dcgan.dcgan import DCGAN

    gan = (CompositeDCGAN if library == "composite" else DCGAN)(config)
    make_fakes = gan.make_fakes

    def recording_make_fakes():
        z, fakes = make_fakes()
        gan.parity_z = np.asarray(z)
        return z, fakes

    gan.make_fakes = recording_make_fakes
    return gan


def real_batches(images, batch_size: int, seed: int):
    """The library's own batches (`epoch_batches`), epoch after epoch."""
    from keras_dcgan.data import epoch_batches

    epoch = 0
    while True:
        for batch in epoch_batches(images, batch_size, seed, epoch):
            yield batch.numpy()
        epoch += 1


def scaling_mismatches() -> int:
    """uint8 levels whose float32 value in the library's pipeline
    (`to_float`) differs, bit for bit, from the reference's
    (`quality_torch.py`: x / 127.5 - 1 in NumPy float32)."""
    import tensorflow as tf

    from keras_dcgan.data import to_float

    levels = np.arange(256, dtype=np.uint8)
    library = to_float(tf.constant(levels)).numpy()
    reference = levels.astype(np.float32) / 127.5 - 1.0
    return int(np.sum(library.view(np.uint32) != reference.view(np.uint32)))


def load_real_images(config, data: str | None):
    """The library's images for `config`: `data` (an array file), or the
    offline scikit-learn digits when None."""
    from keras_dcgan.data import load_images

    return load_images(config.image_size, config.channels, data=data)


def forward_no_update(model, x):
    """model(x, training=True) with its moving statistics put back."""
    stats = [v for v in model.non_trainable_variables]
    saved = [np.asarray(v) for v in stats]
    out = np.asarray(model(x, training=True))
    for variable, value in zip(stats, saved):
        variable.assign(value)
    return out


def forward_outputs(gan, real, z) -> tuple:
    """The library's (G(z), D(x)) in training mode, as its step computes
    them (batch statistics), its moving statistics left as they were."""
    return forward_no_update(gan.generator, z), forward_no_update(
        gan.discriminator, real
    )
