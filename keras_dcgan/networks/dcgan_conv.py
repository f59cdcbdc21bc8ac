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
from keras_dcgan.networks import blocks
from keras_dcgan.networks.dcgan import add_downsampling, add_upsampling


def build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The generator; see the module docstring and `builders.build_generator`."""
    base, width = blocks.base_size(config.image_size), blocks.top_width(config)
    model = blocks.start_generator(config)
    model.add(layers.Reshape((1, 1, config.latent_dim), name="z_map"))
    model.add(
        layers.Conv2DTranspose(
            width,
            base,
            strides=1,
            padding="valid",
            use_bias=blocks.bias_before_norm(config),
            kernel_initializer=blocks.kernel_initializer(),
            name="project",
        )
    )
    activation = blocks.generator_activation(config, "project")
    blocks.add_norm_and_activation(model, config, "project", activation, sync)
    add_upsampling(model, config, width, sync)
    return model


def build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The discriminator; see the module docstring."""
    model = blocks.start_discriminator(config)
    add_downsampling(model, config, sync)
    if config.dropout:
        model.add(layers.Dropout(config.dropout, name="dropout"))
    # A kernel the size of the last map: one probability per image.
    kernel = blocks.base_size(config.image_size)
    model.add(blocks.output_conv(1, kernel, "valid", "sigmoid", name="classifier"))
    model.add(layers.Flatten(dtype="float32", name="probability"))
    return model
