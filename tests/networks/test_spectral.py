"""Spectral normalization of D (`discriminator_norm="spectral"`): kernels
over their largest singular value, and a freeze that holds."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import build_discriminator
from keras_dcgan.networks.spectral import SpectralConv2D, SpectralDense

IMAGES = tf.random.stateless_uniform((8, 28, 28, 1), (1, 2), -1, 1)


def spectral_layers(model):
    return [layer for layer in model.layers if hasattr(layer, "vector_u")]


@pytest.mark.parametrize("architecture", ["dcgan", "keras-tutorial", "dcgan-conv"])
def test_every_preset_gets_normalized_kernels_with_biases_and_no_batchnorm(
    tiny_config, architecture
):
    config = dataclasses.replace(
        tiny_config, architecture=architecture, discriminator_norm="spectral"
    )
    model = build_discriminator(config)
    plain = build_discriminator(dataclasses.replace(config, discriminator_norm="batch"))
    kinds = {type(layer) for layer in model.layers}
    assert not any(issubclass(k, keras.layers.BatchNormalization) for k in kinds)
    assert kinds & {SpectralConv2D, SpectralDense}
    weighted = [
        layer
        for layer in plain.layers
        if type(layer) in (keras.layers.Conv2D, keras.layers.Dense)
    ]
    assert len(spectral_layers(model)) == len(weighted)
    assert all(layer.use_bias for layer in spectral_layers(model))
    assert model.output_shape == plain.output_shape == (None, 1)


def test_training_calls_bring_each_largest_singular_value_to_one(tiny_config):
    config = dataclasses.replace(tiny_config, discriminator_norm="spectral")
    model = build_discriminator(config)
    for _ in range(50):
        model(IMAGES, training=True)
    for layer in spectral_layers(model):
        kernel = keras.ops.convert_to_numpy(layer.normalized(False))
        matrix = kernel.reshape(-1, kernel.shape[-1])
        assert np.linalg.svd(matrix, compute_uv=False)[0] == pytest.approx(1, abs=0.02)


def test_inference_calls_change_nothing_training_calls_only_the_vector(tiny_config):
    model = build_discriminator(
        dataclasses.replace(tiny_config, discriminator_norm="spectral")
    )
    model(IMAGES)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    model(IMAGES, training=False)
    after = [keras.ops.convert_to_numpy(w) for w in model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    model(IMAGES, training=True)
    moved = {
        w.path
        for w, b in zip(model.weights, before)
        if not np.array_equal(keras.ops.convert_to_numpy(w), b)
    }
    assert moved and all("vector_u" in path for path in moved)


def test_kerass_own_wrapper_writes_the_kernel_in_training_calls():
    """Why the package has its own layers: `keras.layers.SpectralNormalization`
    changes the kernel variable in every training-mode call, which would
    move D's weights in G's step, where D's layers run in training mode."""
    layer = keras.layers.SpectralNormalization(keras.layers.Dense(4))
    x = tf.random.stateless_uniform((2, 3), (1, 2))
    layer(x)
    before = keras.ops.convert_to_numpy(layer.layer.kernel).copy()
    layer(x, training=True)
    assert not np.array_equal(before, keras.ops.convert_to_numpy(layer.layer.kernel))


def test_the_gradient_flows_through_the_normalization():
    """d/dW of W / sigma(W) is not 1 / sigma: the paper's gradient, not a
    constant rescaling."""
    layer = SpectralDense(3, use_bias=False)
    x = tf.random.stateless_uniform((5, 4), (1, 2))
    layer(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=False))
    gradient = tape.gradient(loss, layer.kernel.value)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    sigma = kernel[0, 0] / keras.ops.convert_to_numpy(layer.normalized(False))[0, 0]
    constant = np.tile(np.sum(x, 0)[:, None], [1, 3]) / sigma  # sigma held fixed
    assert np.isfinite(gradient).all()
    assert np.abs(gradient - constant).max() > 1e-3 * np.abs(constant).max()


@pytest.mark.parametrize("value", ["spectral_norm", "", "Batch", None, 1])
def test_a_bad_norm_is_refused_in_one_line_naming_the_field(value):
    with pytest.raises(ConfigError) as refused:
        DCGANConfig(discriminator_norm=value)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("discriminator_norm=")
    assert "batch, spectral" in message and "--" not in message
