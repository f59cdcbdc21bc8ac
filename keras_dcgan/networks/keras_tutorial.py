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
from keras_dcgan.networks import blocks

# The last generator layer's kernel: a stride-1 Conv2D to the channels.
OUTPUT_KERNEL = 3


def build_generator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The generator; see the module docstring and `builders.build_generator`."""
    steps = blocks.num_resolution_steps(config.image_size)
    base, width = blocks.base_size(config.image_size), blocks.top_width(config)
    model = blocks.start_generator(config)
    model.add(
        layers.Dense(
            base * base * width,
            kernel_initializer=blocks.kernel_initializer(),
            name="project",
        )
    )
    model.add(blocks.leaky_relu("project_lrelu"))
    model.add(blocks.batch_norm("project_bn", sync))
    model.add(layers.Reshape((base, base, width), name="reshape"))
    for i in range(1, steps + 1):
        width = config.generator_width * 2 ** (steps - i)
        model.add(
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                kernel_initializer=blocks.kernel_initializer(),
                name=f"deconv{i}",
            )
        )
        model.add(blocks.leaky_relu(f"deconv{i}_lrelu"))
        model.add(blocks.batch_norm(f"deconv{i}_bn", sync))
    model.add(
        blocks.output_conv(
            config.channels, OUTPUT_KERNEL, "same", "tanh", name="to_image"
        )
    )
    return model


def build_discriminator(config: DCGANConfig, sync: bool) -> keras.Sequential:
    """The discriminator; see the module docstring."""
    steps = blocks.num_resolution_steps(config.image_size)
    model = blocks.start_discriminator(config)
    for i in range(1, steps + 1):
        model.add(
            layers.Conv2D(
                config.discriminator_width * 2 ** (i - 1),
                4,
                strides=2,
                padding="same",
                kernel_initializer=blocks.kernel_initializer(),
                name=f"conv{i}",
            )
        )
        model.add(blocks.leaky_relu(f"conv{i}_lrelu"))
        if i > 1:
            model.add(blocks.batch_norm(f"conv{i}_bn", sync))
    blocks.add_dense_classifier(model, config.dropout)
    return model
