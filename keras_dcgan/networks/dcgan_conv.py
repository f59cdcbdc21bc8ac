"""Preset "dcgan-conv": the paper's all-convolutional networks, as in
PyTorch's reference code (pytorch/examples, dcgan/main.py).

G: z as a 1x1 map of `latent_dim` channels, a stride-1 'valid'
Conv2DTranspose to the 4x4 map (a 7x7 kernel and map for 28 px) + BatchNorm
+ ReLU, then the "dcgan" preset's stride-2 Conv2DTranspose + BatchNorm +
ReLU blocks and its last stride-2 Conv2DTranspose with tanh. No Dense.

D: the "dcgan" preset's strided Conv2D blocks (BatchNorm on all but the
first, LeakyReLU 0.2), optional Dropout, then a 'valid' Conv2D with a
kernel the size of the last map (4, or 7 for 28 px) to one channel with
sigmoid, flattened to (batch, 1). No Dense.

It computes what the "dcgan" preset computes with its Dense layers, except
that the generator's first BatchNorm normalises per channel (over the batch
and the 4x4 positions) rather than per unit.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_dcgan.config import DCGANConfig
from keras_dcgan.networks.blocks import (
    base_size,
    batch_norm,
    image_input,
    kernel_initializer,
    num_resolution_steps,
)
from keras_dcgan.networks.dcgan import add_downsampling, add_upsampling


def build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The generator; see the module docstring and `models.build_generator`."""
    base = base_size(config.image_size)
    width = config.generator_width * 2 ** (num_resolution_steps(config.image_size) - 1)
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(config.latent_dim,), name="z"))
    model.add(layers.Reshape((1, 1, config.latent_dim), name="z_map"))
    # No biases before BatchNorm: its beta makes them redundant.
    model.add(
        layers.Conv2DTranspose(
            width,
            base,
            strides=1,
            padding="valid",
            use_bias=False,
            kernel_initializer=kernel_initializer(),
            name="project",
        )
    )
    model.add(batch_norm("project_bn", sync))
    model.add(layers.ReLU(name="project_relu"))
    add_upsampling(model, config, width, sync)
    return model


def build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The discriminator; see the module docstring."""
    model = keras.Sequential(name="discriminator")
    model.add(image_input(config))
    add_downsampling(model, config, sync)
    if config.dropout:
        model.add(layers.Dropout(config.dropout, name="dropout"))
    # float32 keeps the probability (and its loss) exact under mixed precision.
    model.add(
        layers.Conv2D(
            1,
            base_size(config.image_size),
            strides=1,
            padding="valid",
            activation="sigmoid",
            dtype="float32",
            kernel_initializer=kernel_initializer(),
            name="classifier",
        )
    )
    model.add(layers.Flatten(dtype="float32", name="probability"))
    return model
