"""Preset "keras-tutorial": the layer pattern of the classic Keras GAN
tutorials, with the paper's initialisers.

G: Dense -> LeakyReLU -> BatchNorm -> Reshape to a 4x4 map (7x7 for 28 px),
then stride-2 Conv2DTranspose + LeakyReLU + BatchNorm blocks up to the
image size (the first keeps the width, the others halve it, down to
`generator_width`), and a last stride-1 Conv2D to the channels with tanh.

D: stride-2 Conv2D + LeakyReLU blocks doubling the width, each but the
first followed by BatchNorm *after* the activation; optional Dropout,
Flatten and Dense(1, sigmoid).

BatchNorm follows the activation here, so the layers before it keep their
biases (they are not redundant, as they are before a BatchNorm).
"""

from __future__ import annotations

import keras
from keras import layers

from keras_dcgan.config import DCGANConfig
from keras_dcgan.networks.blocks import (
    add_dense_classifier,
    batch_norm,
    image_input,
    kernel_initializer,
    leaky_relu,
    num_resolution_steps,
)

# The last generator layer's kernel: a stride-1 Conv2D to the channels.
OUTPUT_KERNEL = 3


def build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The generator; see the module docstring and `models.build_generator`."""
    steps = num_resolution_steps(config.image_size)
    base = config.image_size // 2**steps
    width = config.generator_width * 2 ** (steps - 1)
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(config.latent_dim,), name="z"))
    model.add(
        layers.Dense(
            base * base * width, kernel_initializer=kernel_initializer(), name="project"
        )
    )
    model.add(leaky_relu("project_lrelu"))
    model.add(batch_norm("project_bn", sync))
    model.add(layers.Reshape((base, base, width), name="reshape"))
    for i in range(1, steps + 1):
        width = config.generator_width * 2 ** (steps - i)
        model.add(
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                kernel_initializer=kernel_initializer(),
                name=f"deconv{i}",
            )
        )
        model.add(leaky_relu(f"deconv{i}_lrelu"))
        model.add(batch_norm(f"deconv{i}_bn", sync))
    # float32 so that mixed-precision policies still emit exact [-1, 1].
    model.add(
        layers.Conv2D(
            config.channels,
            OUTPUT_KERNEL,
            strides=1,
            padding="same",
            activation="tanh",
            dtype="float32",
            kernel_initializer=kernel_initializer(),
            name="to_image",
        )
    )
    return model


def build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The discriminator; see the module docstring."""
    steps = num_resolution_steps(config.image_size)
    model = keras.Sequential(name="discriminator")
    model.add(image_input(config))
    for i in range(1, steps + 1):
        model.add(
            layers.Conv2D(
                config.discriminator_width * 2 ** (i - 1),
                4,
                strides=2,
                padding="same",
                kernel_initializer=kernel_initializer(),
                name=f"conv{i}",
            )
        )
        model.add(leaky_relu(f"conv{i}_lrelu"))
        if i > 1:
            model.add(batch_norm(f"conv{i}_bn", sync))
    add_dense_classifier(model, config.dropout)
    return model
