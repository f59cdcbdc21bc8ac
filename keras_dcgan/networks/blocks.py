"""What the networks of every preset share: the paper's initialisers, its
BatchNorm, the dtype policy, and the number of stride-2 layers per size."""

from __future__ import annotations

import contextlib
import math

import keras
from keras import layers

from keras_dcgan.networks.augment import DiffAugment

# PyTorch's BatchNorm2d defaults (momentum 0.1 there is 0.9 here).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
# The slope of every LeakyReLU, as in the paper.
LEAKY_SLOPE = 0.2


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


def leaky_relu(name: str) -> layers.LeakyReLU:
    """LeakyReLU with the paper's slope, 0.2."""
    return layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)


def set_momentum_per_call(model: keras.Model, calls_per_step: int) -> None:
    """Sets every BatchNorm of `model` to BN_MOMENTUM ** (1 / calls_per_step).

    A model called in training mode `calls_per_step` times a step on the
    same batch then moves its moving statistics by exactly one BN_MOMENTUM
    update a step: 0.9 ** 0.5 twice is 0.9 once.
    """
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM ** (1 / calls_per_step)
        elif isinstance(layer, keras.Model):
            set_momentum_per_call(layer, calls_per_step)


def generator_activation(config, name: str) -> layers.Layer:
    """The generator's hidden activation after layer `name`: ReLU (the
    paper's) or LeakyReLU(0.2), as `config.generator_activation` says."""
    if config.generator_activation == "leaky_relu":
        return leaky_relu(f"{name}_lrelu")
    return layers.ReLU(name=f"{name}_relu")


def add_norm_and_activation(
    model: keras.Sequential, config, name: str, activation: layers.Layer, sync: bool
) -> None:
    """Adds BatchNorm and `activation` after layer `name`, BatchNorm first
    unless `config.batch_norm_position` is "after"."""
    norm = batch_norm(f"{name}_bn", sync)
    after = config.batch_norm_position == "after"
    for layer in (activation, norm) if after else (norm, activation):
        model.add(layer)


def bias_before_norm(config) -> bool:
    """Whether a layer followed by BatchNorm has a bias: only when BatchNorm
    comes after the activation; right before it, its beta makes one redundant."""
    return config.batch_norm_position == "after"


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


def base_size(image_size: int) -> int:
    """Side of the smallest feature map: 4, or 7 for 28 px images."""
    return 7 if image_size == 28 else 4


def num_resolution_steps(image_size: int) -> int:
    """Stride-2 layers between the 4x4 (7x7 for 28 px) map and the image."""
    return int(math.log2(image_size // base_size(image_size)))


def top_width(config) -> int:
    """Channels of the generator's smallest map: `generator_width` doubled
    once per stride-2 layer after the first."""
    return config.generator_width * 2 ** (num_resolution_steps(config.image_size) - 1)


def start_generator(config) -> keras.Sequential:
    """An empty generator but for its input, named "z": one latent vector."""
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(config.latent_dim,), name="z"))
    return model


def start_discriminator(config) -> keras.Sequential:
    """An empty discriminator but for its input, named "image": one image
    of the config's shape, and the augmentation of `config.augment`."""
    size = config.image_size
    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(shape=(size, size, config.channels), name="image"))
    if config.augment != "none":
        policy = config.augment.split(",")
        model.add(DiffAugment(policy, seed=config.seed, name="augment"))
    return model


def output_conv(filters: int, kernel: int, padding: str, activation: str, name: str):
    """A network's last layer: a stride-1 Conv2D computed in float32, so
    that mixed-precision policies still emit exact images or probabilities."""
    return layers.Conv2D(
        filters,
        kernel,
        strides=1,
        padding=padding,
        activation=activation,
        dtype="float32",
        kernel_initializer=kernel_initializer(),
        name=name,
    )


def add_dense_classifier(model: keras.Sequential, dropout: float) -> None:
    """Ends a discriminator: optional Dropout, Flatten, Dense(1, sigmoid)."""
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
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
