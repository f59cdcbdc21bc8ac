"""The port: which Keras variable of the library's "dcgan" preset is which
tensor of the PyTorch reference networks, in whose layout, and copying the
library's initial weights across."""

from __future__ import annotations

import dataclasses

import numpy as np

from .reference import TorchSide


@dataclasses.dataclass
class Pair:
    """One Keras variable and the torch tensor it corresponds to."""

    name: str  # "G/deconv1/kernel"
    keras: object  # keras.Variable
    torch: object  # torch.Tensor (parameter or buffer)
    to_torch: object  # numpy Keras layout -> numpy torch layout
    kind: str  # "weight" or "bn_stat"
    optimizer: str  # "G" or "D" (whose Adam slots), "" for statistics

    def keras_value(self, value=None) -> np.ndarray:
        """The Keras variable (or `value`, same layout) in torch's layout."""
        value = np.asarray(self.keras if value is None else value)
        return self.to_torch(value)


def _conv(kernel):
    # Conv2D (h, w, in, out) -> Conv2d (out, in, h, w); Conv2DTranspose
    # (h, w, out, in) -> ConvTranspose2d (in, out, h, w): the same transpose,
    # no flip (both are cross-correlations and their exact adjoints).
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def nhwc_to_nchw_order(base: int, channels: int) -> np.ndarray:
    """Index into a flat NHWC (h, w, c) vector for each position of the flat
    NCHW (c, h, w) one: how Reshape/Flatten differ between the two."""
    return (
        np.arange(base * base * channels)
        .reshape(base, base, channels)
        .transpose(2, 0, 1)
        .reshape(-1)
    )


def _norm_pairs(prefix: str, keras_layer, module, flat_order) -> list:
    """A BatchNorm's gamma, beta and moving statistics; `flat_order` when it
    normalises the units of a Dense that meets a Reshape."""

    def vector(v, order=flat_order):
        return v if order is None else v[order]

    return [
        Pair(
            f"{prefix}/{keras_layer.name}/{kname}",
            getattr(keras_layer, kname),
            tensor,
            vector,
            kind,
            prefix if kind == "weight" else "",
        )
        for kname, tensor, kind in (
            ("gamma", module.weight, "weight"),
            ("beta", module.bias, "weight"),
            ("moving_mean", module.running_mean, "bn_stat"),
            ("moving_variance", module.running_var, "bn_stat"),
        )
    ]


def _kernel_converter(module, flat_order, rows: bool):
    """Keras kernel -> torch weight, for a Linear or a (transposed) conv."""
    from torch import nn

    if not isinstance(module, nn.Linear):
        return _conv
    if flat_order is None:
        return np.transpose
    if rows:  # D's classifier: its inputs are the flattened map

        def convert(k, order=flat_order):
            return np.ascontiguousarray(k[order, :].T)

        return convert

    def convert(k, order=flat_order):  # G's projection: outputs reshaped
        return np.ascontiguousarray(k[:, order].T)

    return convert


def layer_pairs(prefix, keras_layer, module, flat_order=None, rows=False) -> list:
    """The pairs of one Keras layer and its torch module.

    Args:
        prefix: "G" or "D" (names the pairs and whose Adam has the slots).
        keras_layer: The library's layer.
        module: The reference network's module.
        flat_order: `nhwc_to_nchw_order` where a Dense meets a Reshape or a
            Flatten (and for the BatchNorm of such a Dense's units).
        rows: The Dense's inputs, not its outputs, are the flattened map.
    """
    from torch import nn

    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return _norm_pairs(prefix, keras_layer, module, flat_order)
    convert = _kernel_converter(module, flat_order, rows)
    name = f"{prefix}/{keras_layer.name}"
    kernel = Pair(
        f"{name}/kernel", keras_layer.kernel, module.weight, convert, "weight", prefix
    )
    if module.bias is None:
        return [kernel]
    bias = Pair(
        f"{name}/bias", keras_layer.bias, module.bias, lambda v: v, "weight", prefix
    )
    return [kernel, bias]


def parameter_pairs(generator, discriminator, side: TorchSide) -> list:
    """Every weight and BatchNorm statistic of the library's "dcgan" preset
    paired with the reference network's tensor, in forward order.

    Args:
        generator: The library's generator (a Keras model).
        discriminator: The library's discriminator.
        side: The `TorchSide` whose networks receive the weights.

    Returns:
        A list of `Pair`, G's first.
    """
    from torch import nn

    config = side.config
    layers = {layer.name: layer for layer in generator.layers}
    steps = sum(1 for name in layers if name.startswith("deconv") and "_" not in name)
    base = config.image_size // 2**steps
    top = config.generator_width * 2 ** (steps - 1)
    order = nhwc_to_nchw_order(base, top)
    pairs = layer_pairs("G", layers["project"], side.G.project[0], order)
    pairs += layer_pairs("G", layers["project_bn"], side.G.project[1], order)
    torch_layers = [m for m in side.G.main if isinstance(m, nn.Module)]
    for i in range(1, steps):
        pairs += layer_pairs("G", layers[f"deconv{i}"], torch_layers[3 * (i - 1)])
        pairs += layer_pairs(
            "G", layers[f"deconv{i}_bn"], torch_layers[3 * (i - 1) + 1]
        )
    pairs += layer_pairs("G", layers[f"deconv{steps}"], torch_layers[3 * (steps - 1)])
    return pairs + _discriminator_pairs(discriminator, side, base)


def _discriminator_pairs(discriminator, side: TorchSide, base: int) -> list:
    """D's pairs; its classifier reads the flattened base x base map."""
    from torch import nn

    layers = {layer.name: layer for layer in discriminator.layers}
    convs = [m for m in side.D if isinstance(m, nn.Conv2d)]
    norms = [m for m in side.D if isinstance(m, nn.BatchNorm2d)]
    pairs = []
    for i, conv in enumerate(convs, start=1):
        pairs += layer_pairs("D", layers[f"conv{i}"], conv)
        if i > 1:
            pairs += layer_pairs("D", layers[f"conv{i}_bn"], norms[i - 2])
    width = side.config.discriminator_width * 2 ** (len(convs) - 1)
    linear = [m for m in side.D if isinstance(m, nn.Linear)][0]
    order = nhwc_to_nchw_order(base, width)
    return pairs + layer_pairs("D", layers["probability"], linear, order, rows=True)


def port_weights(pairs: list) -> None:
    """Copies every Keras value into its torch tensor (shapes checked).

    Raises:
        ValueError: A Keras value, in torch's layout, has another shape than
            its tensor (the networks do not match).
    """
    import torch

    with torch.no_grad():
        for pair in pairs:
            value = pair.keras_value()
            if tuple(value.shape) != tuple(pair.torch.shape):
                shape = tuple(pair.torch.shape)
                raise ValueError(f"{pair.name}: Keras {value.shape} -> torch {shape}")
            pair.torch.copy_(torch.from_numpy(np.array(value, np.float32)))
            # (float64 sides: the float32 values, exactly)
