"""The DCGAN generator and discriminator (Radford et al., 2015).

Both are plain `keras.Sequential` models with no Lambda layers, so a saved
`.keras` file loads with `safe_mode=True` and nothing of this package.
"""

from __future__ import annotations

import contextlib
import math

import keras
from keras import layers

from keras_dcgan.config import DCGANConfig

# PyTorch's BatchNorm2d defaults (momentum 0.1 there is 0.9 here).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def kernel_initializer() -> keras.initializers.Initializer:
    """Conv and dense kernels: N(0, 0.02), as in the paper."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def batch_norm(name: str, synchronized: bool = False) -> layers.BatchNormalization:
    """BatchNorm with gamma ~ N(1, 0.02) and beta = 0, as in the paper.

    `synchronized` computes batch statistics over all replicas of a
    `tf.distribute` strategy (the global batch), not each replica's slice.
    """
    return layers.BatchNormalization(
        synchronized=synchronized,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        beta_initializer="zeros",
        name=name,
    )


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds layers under a dtype policy ("float32", "mixed_bfloat16", ...)
    without leaving it set for the rest of the program."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def num_resolution_steps(image_size: int) -> int:
    """Stride-2 layers between the 4x4 (7x7 for 28 px) map and the image."""
    base = 7 if image_size == 28 else 4
    return int(math.log2(image_size // base))


def build_generator(
    config: DCGANConfig, synchronized_batch_norm: bool = False
) -> keras.Sequential:
    """Builds the generator: z -> image in [-1, 1].

    Dense -> BatchNorm -> ReLU -> Reshape to a 4x4 map (7x7 for 28 px), then
    stride-2 Conv2DTranspose + BatchNorm + ReLU blocks halving the width,
    and a last Conv2DTranspose to `channels` with tanh. At 64 px this is the
    paper's 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.

    Args:
        config: Uses `image_size`, `channels`, `latent_dim`,
            `generator_width` and `precision`.
        synchronized_batch_norm: Batch statistics over all replicas of the
            current `tf.distribute` strategy (see `batch_norm`).

    Returns:
        A built `keras.Sequential` named "generator" whose input
        is named "z".

    Example:
        >>> g = build_generator(DCGANConfig(image_size=28, channels=1))
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    with dtype_policy(config.precision):
        return _build_generator(config, synchronized_batch_norm)


def _build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    steps = num_resolution_steps(config.image_size)
    base = config.image_size // 2**steps
    width = config.generator_width * 2 ** (steps - 1)
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(config.latent_dim,), name="z"))
    # No biases before BatchNorm: its beta makes them redundant.
    model.add(
        layers.Dense(
            base * base * width,
            use_bias=False,
            kernel_initializer=kernel_initializer(),
            name="project",
        )
    )
    model.add(batch_norm("project_bn", sync))
    model.add(layers.ReLU(name="project_relu"))
    model.add(layers.Reshape((base, base, width), name="reshape"))
    for i in range(1, steps):
        width //= 2
        model.add(
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=kernel_initializer(),
                name=f"deconv{i}",
            )
        )
        model.add(batch_norm(f"deconv{i}_bn", sync))
        model.add(layers.ReLU(name=f"deconv{i}_relu"))
    model.add(
        layers.Conv2DTranspose(
            config.channels,
            4,
            strides=2,
            padding="same",
            kernel_initializer=kernel_initializer(),
            name=f"deconv{steps}",
        )
    )
    # float32 so that mixed-precision policies still emit exact [-1, 1].
    model.add(layers.Activation("tanh", dtype="float32", name="tanh"))
    return model


def build_discriminator(
    config: DCGANConfig, synchronized_batch_norm: bool = False
) -> keras.Sequential:
    """Builds the discriminator: image -> probability that it is real.

    Stride-2 Conv2D + LeakyReLU(0.2) (no BatchNorm on the first), then
    stride-2 Conv2D + BatchNorm + LeakyReLU(0.2) blocks doubling the width,
    optional Dropout, Flatten and Dense(1, sigmoid). No pooling, no hidden
    dense layer.

    Args:
        config: Uses `image_size`, `channels`, `discriminator_width`,
            `dropout` and `precision`.
        synchronized_batch_norm: Batch statistics over all replicas of the
            current `tf.distribute` strategy (see `batch_norm`).

    Returns:
        A built `keras.Sequential` named "discriminator".

    Example:
        >>> d = build_discriminator(DCGANConfig(image_size=28, channels=1))
        >>> d.output_shape
        (None, 1)
    """
    with dtype_policy(config.precision):
        return _build_discriminator(config, synchronized_batch_norm)


def _build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    steps = num_resolution_steps(config.image_size)
    model = keras.Sequential(name="discriminator")
    model.add(
        keras.Input(
            shape=(config.image_size, config.image_size, config.channels), name="image"
        )
    )
    width = config.discriminator_width
    for i in range(1, steps + 1):
        model.add(
            layers.Conv2D(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=(i == 1),
                kernel_initializer=kernel_initializer(),
                name=f"conv{i}",
            )
        )
        if i > 1:
            model.add(batch_norm(f"conv{i}_bn", sync))
        model.add(layers.LeakyReLU(negative_slope=0.2, name=f"conv{i}_lrelu"))
        width *= 2
    if config.dropout:
        model.add(layers.Dropout(config.dropout, name="dropout"))
    model.add(layers.Flatten(name="flatten"))
    # float32 keeps the probability (and its loss) exact under mixed precision.
    model.add(
        layers.Dense(
            1,
            activation="sigmoid",
            dtype="float32",
            kernel_initializer=kernel_initializer(),
            name="probability",
        )
    )
    return model
