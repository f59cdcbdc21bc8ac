"""The keras-tutorial preset's layer choices, one at a time, on the paper's
networks (`generator_activation`, `batch_norm_position`, `generator_output`):
each changes what it says and nothing else, the defaults stay the paper's,
and the keras-tutorial preset refuses them."""

import dataclasses

import keras
import numpy as np
import pytest
from helpers import TINY, exit_code

from keras_dcgan.config import LAYER_OPTIONS, DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import build_discriminator, build_generator

NON_DEFAULT = {name: choices[1] for name, choices in LAYER_OPTIONS.items()}


def tiny(architecture="dcgan", size=28, channels=1, **extra):
    """A tiny config of `architecture` at `size` px."""
    fields = {**TINY, "image_size": size, "channels": channels, **extra}
    return DCGANConfig(architecture=architecture, **fields)


def layers_of(model):
    """(name, kind, output shape, has a bias) of every layer."""
    return [
        (
            x.name,
            type(x).__name__,
            tuple(x.output.shape),
            getattr(x, "bias", None) is not None,
        )
        for x in model.layers
    ]


def kinds(model):
    return [type(x).__name__ for x in model.layers]


def test_the_defaults_are_the_papers_layers():
    assert {n: getattr(DCGANConfig(), n) for n in LAYER_OPTIONS} == {
        "generator_activation": "relu",
        "batch_norm_position": "before",
        "generator_output": "transpose",
    }


@pytest.mark.parametrize("architecture", ["dcgan", "dcgan-conv"])
def test_leaky_relu_changes_only_the_generators_activations(architecture):
    paper = tiny(architecture, 32, 3)
    leaky = dataclasses.replace(paper, generator_activation="leaky_relu")
    before, after = build_generator(paper), build_generator(leaky)
    swapped = [
        (a.name, b.name)
        for a, b in zip(before.layers, after.layers)
        if type(a) is not type(b)
    ]
    assert swapped and all(
        old.endswith("_relu") and new == old.replace("_relu", "_lrelu")
        for old, new in swapped
    )
    assert "ReLU" not in kinds(after)
    slopes = {x.negative_slope for x in after.layers if "LeakyReLU" in str(type(x))}
    assert slopes == {0.2}
    assert after.count_params() == before.count_params()
    assert layers_of(build_discriminator(leaky)) == layers_of(
        build_discriminator(paper)
    )


@pytest.mark.parametrize("architecture", ["dcgan", "dcgan-conv"])
def test_batch_norm_after_the_activation_in_both_networks(architecture):
    config = tiny(architecture, 32, 3, batch_norm_position="after")
    for model in (build_generator(config), build_discriminator(config)):
        norms = 0
        for before, layer, after in zip(
            model.layers, model.layers[1:], model.layers[2:]
        ):
            if isinstance(layer, keras.layers.BatchNormalization):
                norms += 1
                # activation then BatchNorm; the layer before both keeps its bias
                assert type(before).__name__ in ("ReLU", "LeakyReLU"), layer.name
                assert not isinstance(after, keras.layers.Activation)
        every = [
            x for x in model.layers if isinstance(x, keras.layers.BatchNormalization)
        ]
        assert norms == len(every) >= 2
        weighted = [x for x in model.layers if hasattr(x, "kernel")]
        assert all(x.use_bias for x in weighted), [x.name for x in weighted]


def test_the_paper_networks_discriminator_with_bn_after_is_the_tutorials():
    """D of "dcgan" with BatchNorm after LeakyReLU is, layer for layer, the
    keras-tutorial preset's D: the one place the two presets differ in D."""
    after = build_discriminator(tiny("dcgan", 64, 3, batch_norm_position="after"))
    tutorial = build_discriminator(tiny("keras-tutorial", 64, 3))
    assert layers_of(after) == layers_of(tutorial)


@pytest.mark.parametrize("architecture", ["dcgan", "dcgan-conv"])
@pytest.mark.parametrize("size", [28, 64])
def test_a_stride_1_conv_makes_the_image(architecture, size):
    paper = tiny(architecture, size, 3)
    config = dataclasses.replace(paper, generator_output="conv")
    generator = build_generator(config)
    last, block = generator.layers[-1], generator.layers[-4:-1]
    assert type(last) is keras.layers.Conv2D
    assert (last.strides, last.kernel_size, last.padding) == ((1, 1), (3, 3), "same")
    assert last.activation is keras.activations.tanh and last.dtype == "float32"
    # The last stride-2 layer stays at the generator's width, full size.
    deconv = block[0]
    assert type(deconv) is keras.layers.Conv2DTranspose and deconv.strides == (2, 2)
    assert tuple(deconv.output.shape) == (None, size, size, 8)
    assert kinds(generator)[-3:-1] == ["BatchNormalization", "ReLU"]
    # Everything before that block is the paper's generator.
    assert layers_of(generator)[:-4] == layers_of(build_generator(paper))[:-2]
    assert layers_of(build_discriminator(config)) == layers_of(
        build_discriminator(paper)
    )


@pytest.mark.parametrize("architecture", ["dcgan", "dcgan-conv"])
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (128, 3)])
def test_all_three_build_every_size_into_images_in_range(architecture, size, channels):
    config = tiny(architecture, size, channels, **NON_DEFAULT)
    generator, discriminator = build_generator(config), build_discriminator(config)
    z = np.random.default_rng(0).normal(size=(3, 8))
    images = keras.ops.convert_to_numpy(generator(z, training=True))
    assert images.shape == (3, size, size, channels)
    assert np.all(np.abs(images) <= 1.0) and np.isfinite(images).all()
    assert discriminator(images).shape == (3, 1)


@pytest.mark.parametrize("name", list(LAYER_OPTIONS))
def test_the_keras_tutorial_preset_refuses_them(name):
    with pytest.raises(ConfigError) as info:
        tiny("keras-tutorial", **{name: NON_DEFAULT[name]})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}=")
    assert "dcgan and dcgan-conv" in message
    assert repr(LAYER_OPTIONS[name][0]) in message


@pytest.mark.parametrize("name", list(LAYER_OPTIONS))
@pytest.mark.parametrize("value", ["Relu", "", "leaky relu", 1, None, "after "])
def test_a_bad_value_names_the_field_and_the_choices(name, value):
    with pytest.raises(ConfigError) as info:
        tiny(**{name: value})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}=")
    assert all(choice in message for choice in LAYER_OPTIONS[name])


@pytest.mark.parametrize("name", list(LAYER_OPTIONS))
def test_the_cli_refuses_in_its_flags_and_writes_nothing(name, tmp_path, capsys):
    flag = "--" + name.replace("_", "-")
    run = tmp_path / "run"
    argv = ["train", "--output-dir", str(run), "--architecture", "keras-tutorial"]
    assert exit_code([*argv, flag, NON_DEFAULT[name]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: {flag} '" in err
    assert f"{name}=" not in err and "--architecture 'keras-tutorial'" in err
    assert exit_code(["train", "--output-dir", str(run), flag, "sideways"]) == 2
    err = capsys.readouterr().err
    assert flag in err and all(c in err for c in LAYER_OPTIONS[name])
    assert not run.exists()
