"""Preset "dcgan": the paper's networks, as the PyTorch reference trains them.

G: Dense -> BatchNorm -> ReLU -> Reshape to a 4x4 map (7x7 for 28 px), then
stride-2 Conv2DTranspose + BatchNorm + ReLU blocks halving the width, and a
last stride-2 Conv2DTranspose to the channels with tanh. At 64 px this is
the paper's 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.

D: stride-2 Conv2D + LeakyReLU(0.2) (no BatchNorm on the first), then
stride-2 Conv2D + BatchNorm + LeakyReLU(0.2) blocks doubling the width,
optional Dropout, Flatten and Dense(1, sigmoid). No pooling, no hidden
dense layer.

Three fields of `DCGANConfig` change these networks one step toward the
"keras-tutorial" preset each: `generator_activation` (LeakyReLU in G),
`batch_norm_position` (BatchNorm after the activation) and
`generator_output` (a last stride-1 Conv2D).
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
    model.add(
        layers.Dense(
            base * base * width,
            use_bias=blocks.bias_before_norm(config),
            kernel_initializer=blocks.kernel_initializer(),
            name="project",
        )
    )
    activation = blocks.generator_activation(config, "project")
    blocks.add_norm_and_activation(model, config, "project", activation, sync)
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
    last stride-2 Conv2DTranspose to the channels with tanh.

    `config.generator_activation` and `batch_norm_position` change the
    blocks; `generator_output` "conv" makes the last Conv2DTranspose one
    more block, of `width` channels, followed by a stride-1 3x3 Conv2D to
    the channels with tanh."""
    steps = blocks.num_resolution_steps(config.image_size)
    last_block = steps if config.generator_output == "conv" else steps - 1
    for i in range(1, last_block + 1):
        width = width if i == steps else width // 2
        model.add(_deconv(width, blocks.bias_before_norm(config), f"deconv{i}"))
        activation = blocks.generator_activation(config, f"deconv{i}")
        blocks.add_norm_and_activation(model, config, f"deconv{i}", activation, sync)
    if config.generator_output == "conv":
        model.add(blocks.output_conv(config.channels, 3, "same", "tanh", "to_image"))
        return
    model.add(_deconv(config.channels, True, f"deconv{steps}"))
    # float32 so that mixed-precision policies still emit exact [-1, 1].
    model.add(layers.Activation("tanh", dtype="float32", name="tanh"))


def _deconv(filters: int, use_bias: bool, name: str) -> layers.Conv2DTranspose:
    """A stride-2 4x4 Conv2DTranspose: twice the side, `filters` channels."""
    return layers.Conv2DTranspose(
        filters,
        4,
        strides=2,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=blocks.kernel_initializer(),
        name=name,
    )


def add_downsampling(model: keras.Sequential, config: DCGANConfig, sync: bool) -> None:
    """From the image to the smallest map: stride-2 Conv2D + LeakyReLU
    blocks doubling the width from `discriminator_width`, with BatchNorm
    before the activation on all but the first (and no bias before it;
    `config.batch_norm_position` "after" puts it after, with the bias)."""
    width = config.discriminator_width
    for i in range(1, blocks.num_resolution_steps(config.image_size) + 1):
        model.add(
            layers.Conv2D(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=(i == 1) or blocks.bias_before_norm(config),
                kernel_initializer=blocks.kernel_initializer(),
                name=f"conv{i}",
            )
        )
        activation = blocks.leaky_relu(f"conv{i}_lrelu")
        if i > 1:
            blocks.add_norm_and_activation(model, config, f"conv{i}", activation, sync)
        else:
            model.add(activation)
        width *= 2
