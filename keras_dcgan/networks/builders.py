"""The generator and discriminator of a config's architecture preset.

`DCGANConfig.architecture` picks the layer pattern (see
`keras_dcgan.networks`): "dcgan", the paper's networks (Radford et al.,
2015) as the PyTorch reference trains them; "keras-tutorial", the classic
Keras GAN tutorials'; "dcgan-conv", the paper's all-convolutional ones.
Every preset uses the paper's initialisers and BatchNorm and the same
dtype-policy handling.

All are plain `keras.Sequential` models with no Lambda layers, so a saved
`.keras` file loads with `safe_mode=True` and nothing of this package.
"""

from __future__ import annotations

import keras

from keras_dcgan import bounds
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data.preprocess import available_memory_bytes
from keras_dcgan.devices.precision import resolve_precision
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks.blocks import dtype_policy
from keras_dcgan.networks.presets import preset
from keras_dcgan.networks.spectral import with_spectral_norm


def build_generator(
    config: DCGANConfig, synchronized_batch_norm: bool = False
) -> keras.Sequential:
    """Builds the generator of `config.architecture`: z -> image in [-1, 1].

    With the default "dcgan": Dense -> BatchNorm -> ReLU -> Reshape to a 4x4
    map (7x7 for 28 px), then stride-2 Conv2DTranspose + BatchNorm + ReLU
    blocks halving the width, and a last Conv2DTranspose to `channels` with
    tanh. At 64 px this is the paper's 4x4x512 -> 8x8x256 -> 16x16x128 ->
    32x32x64 -> 64x64x3. The other presets are described in
    `keras_dcgan.networks.keras_tutorial` and `keras_dcgan.networks.dcgan_conv`.

    Args:
        config: Uses `architecture`, `image_size`, `channels`, `latent_dim`,
            `generator_width` and `precision`.
        synchronized_batch_norm: Batch statistics over all replicas of the
            current `tf.distribute` strategy (see `blocks.batch_norm`).

    Returns:
        A built `keras.Sequential` named "generator" whose input, named
        "z", has shape (latent_dim,); its tanh runs in float32.

    Raises:
        ConfigError: An unknown `architecture`, or a size it does not build.

    Example:
        >>> g = build_generator(DCGANConfig(image_size=28, channels=1))
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    check_config(config, "generator")
    networks = preset(config.architecture, config.image_size)
    with dtype_policy(resolve_precision(config.precision)):
        return networks.build_generator(config, synchronized_batch_norm)


def build_discriminator(
    config: DCGANConfig, synchronized_batch_norm: bool = False
) -> keras.Sequential:
    """Builds the discriminator of `config.architecture`: image -> probability
    that it is real.

    With the default "dcgan": stride-2 Conv2D + LeakyReLU(0.2) (no BatchNorm
    on the first), then stride-2 Conv2D + BatchNorm + LeakyReLU(0.2) blocks
    doubling the width, optional Dropout, Flatten and Dense(1, sigmoid). No
    pooling, no hidden dense layer. The other presets are described in
    `keras_dcgan.networks.keras_tutorial` and `keras_dcgan.networks.dcgan_conv`.

    Args:
        config: Uses `architecture`, `image_size`, `channels`,
            `discriminator_width`, `dropout`, `augment`,
            `discriminator_norm` and `precision`.
        synchronized_batch_norm: Batch statistics over all replicas of the
            current `tf.distribute` strategy (see `blocks.batch_norm`).

    Returns:
        A built `keras.Sequential` named "discriminator" with output shape
        (None, 1), computed in float32.

    Raises:
        ConfigError: An unknown `architecture`, or a size it does not build.

    Example:
        >>> d = build_discriminator(DCGANConfig(image_size=28, channels=1))
        >>> d.output_shape
        (None, 1)
    """
    check_config(config, "discriminator")
    networks = preset(config.architecture, config.image_size)
    with dtype_policy(resolve_precision(config.precision)):
        model = networks.build_discriminator(config, synchronized_batch_norm)
        if config.discriminator_norm == "spectral":
            model = with_spectral_norm(model)
        return model


def check_config(config, network: str = "") -> None:
    """Refuses what is not a valid `DCGANConfig` (fields may have been set
    since it was made), and networks whose weights alone would not fit in
    the memory available, before any weight is made.

    Raises:
        ConfigError: The message names the fields to change.
    """
    if not isinstance(config, DCGANConfig):
        raise ConfigError(
            f"config: a {type(config).__name__}, not a DCGANConfig; make one "
            "with keras_dcgan.DCGANConfig(...)."
        )
    config.validate()
    if network:
        weights = bounds.network_parameters(config)[network == "discriminator"]
        available = available_memory_bytes()
        if 4 * weights > available:
            raise ConfigError(
                f"The {network}'s {weights:,} weights need "
                f"{4 * weights / 2**30:,.1f} GiB, more than the "
                f"{available / 2**30:,.1f} GiB available; lower "
                "generator_width=, discriminator_width=, latent_dim= or "
                "image_size=."
            )
