"""Spectral normalization of the discriminator (Miyato et al., 2018).

Each Conv2D and Dense of D computes with its kernel divided by the kernel's
largest singular value, estimated by one power iteration per training call
from a vector kept between calls; BatchNorm is left out, as in the paper's
networks. The gradient flows through the division, as in the paper and in
PyTorch's `spectral_norm`.

Why not `keras.layers.SpectralNormalization`: in Keras 3.15 that wrapper
writes the normalized kernel back into the layer's kernel variable on every
training-mode call. In the combined model D's layers run in training mode
(its variables are frozen, its layers are not: `keras_dcgan.composite`), so
G's step would change D's weights. Here training calls update only the
power iteration's vector (a non-trainable state, like BatchNorm's moving
statistics, which PyTorch also updates in G's step); the kernels change in
D's own step alone.
"""

from __future__ import annotations

import keras
from keras import layers, ops


def _normalize(vector):
    return vector / (ops.norm(vector) + 1e-12)


def normalized_kernel(kernel, vector_u, training: bool, dtype="float32"):
    """`kernel` over its largest singular value, by one power iteration from
    `vector_u` (shape (1, outputs)), which training calls update; computed
    in float32, returned in `dtype` (the layer's compute dtype)."""
    matrix = ops.reshape(ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
    v = _normalize(ops.matmul(vector_u, ops.transpose(matrix)))
    u = _normalize(ops.matmul(v, matrix))
    u, v = ops.stop_gradient(u), ops.stop_gradient(v)
    sigma = ops.sum(ops.matmul(v, matrix) * u)  # differentiable in the kernel
    if training:
        vector_u.assign(u)
    return ops.cast(ops.cast(kernel, "float32") / sigma, dtype)


class _SpectralMixin:
    """The vector of the power iteration; the subclass computes with
    `self.normalized(training)` instead of `self.kernel`."""

    def build(self, input_shape):
        super().build(input_shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="vector_u",
            dtype="float32",
        )

    def normalized(self, training):
        return normalized_kernel(
            self.kernel, self.vector_u, bool(training), self.compute_dtype
        )


@keras.saving.register_keras_serializable(package="keras_dcgan")
class SpectralConv2D(_SpectralMixin, layers.Conv2D):
    """A `Conv2D` whose kernel is spectrally normalized (channels last)."""

    def call(self, inputs, training=False):
        outputs = self.convolution_op(inputs, self.normalized(training))
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        return self.activation(outputs) if self.activation else outputs


@keras.saving.register_keras_serializable(package="keras_dcgan")
class SpectralDense(_SpectralMixin, layers.Dense):
    """A `Dense` whose kernel is spectrally normalized."""

    def call(self, inputs, training=False):
        outputs = ops.matmul(inputs, self.normalized(training))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation else outputs


def with_spectral_norm(model: keras.Sequential) -> keras.Sequential:
    """A new, untrained `model` whose Conv2D and Dense layers are spectrally
    normalized (with a bias, which BatchNorm's offset was) and whose
    BatchNorm layers are left out; the other layers are kept."""
    rebuilt = keras.Sequential(name=model.name)
    rebuilt.add(keras.Input(shape=model.input_shape[1:], name="image"))
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            continue
        kind = {layers.Conv2D: SpectralConv2D, layers.Dense: SpectralDense}.get(
            type(layer)
        )
        if kind is not None:
            layer = kind.from_config(dict(layer.get_config(), use_bias=True))
        rebuilt.add(layer)
    return rebuilt
