"""Preset "dcgan": the paper's networks, as the PyTorch reference trains them.

G: Dense -> BatchNorm -> ReLU -> Reshape to a 4x4 map (7x7 for 28 px), then
stride-2 Conv2DTranspose + BatchNorm + ReLU blocks halving the width, and a
last stride-2 Conv2DTranspose to the channels with tanh. At 64 px this is
the paper's 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.

D: stride-2 Conv2D + LeakyReLU(0.2) (no BatchNorm on the first), then
stride-2 Conv2D + BatchNorm + LeakyReLU(0.2) blocks doubling the width,
optional Dropout, Flatten and Dense(1, sigmoid). No pooling, no hidden
dense layer.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_dcgan.config import DCGANConfig
from keras_dcgan.networks import blocks


def build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The generator; see the module docstring and `builders.build_generator`."""
    base, width = blocks.base_size(config.image_size), blocks.top_width(config)
    model = blocks.start_generator(config)
    # No biases before BatchNorm: its beta makes them redundant.
    model.add(
        layers.Dense(
            base * base * width,
            use_bias=False,
            kernel_initializer=blocks.kernel_initializer(),
            name="project",
        )
    )
    model.add(blocks.batch_norm("project_bn", sync))
    model.add(layers.ReLU(name="project_relu"))
    model.add(layers.Reshape((base, base, width), name="reshape"))
    add_upsampling(model, config, width, sync)
    return model


def build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The discriminator; see the module docstring."""
    model = blocks.start_discriminator(config)
    add_downsampling(model, config, sync)
    blocks.add_dense_classifier(model, config.dropout)
    return model


def add_upsampling(
    model: keras.Sequential, config: DCGANConfig, width: int, sync: bool
) -> None:
    """From the smallest map, of `width` channels, to the image: stride-2
    Conv2DTranspose + BatchNorm + ReLU blocks halving the width, then a
    last stride-2 Conv2DTranspose to the channels with tanh."""
    steps = blocks.num_resolution_steps(config.image_size)
    for i in range(1, steps):
        width //= 2
        model.add(
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=blocks.kernel_initializer(),
                name=f"deconv{i}",
            )
        )
        model.add(blocks.batch_norm(f"deconv{i}_bn", sync))
        model.add(layers.ReLU(name=f"deconv{i}_relu"))
    model.add(
        layers.Conv2DTranspose(
            config.channels,
            4,
            strides=2,
            padding="same",
            kernel_initializer=blocks.kernel_initializer(),
            name=f"deconv{steps}",
        )
    )
    # float32 so that mixed-precision policies still emit exact [-1, 1].
    model.add(layers.Activation("tanh", dtype="float32", name="tanh"))


def add_downsampling(model: keras.Sequential, config: DCGANConfig, sync: bool) -> None:
    """From the image to the smallest map: stride-2 Conv2D + LeakyReLU
    blocks doubling the width from `discriminator_width`, with BatchNorm
    before the activation on all but the first (and no bias before it)."""
    width = config.discriminator_width
    for i in range(1, blocks.num_resolution_steps(config.image_size) + 1):
        model.add(
            layers.Conv2D(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=(i == 1),
                kernel_initializer=blocks.kernel_initializer(),
                name=f"conv{i}",
            )
        )
        if i > 1:
            model.add(blocks.batch_norm(f"conv{i}_bn", sync))
        model.add(blocks.leaky_relu(f"conv{i}_lrelu"))
        width *= 2
