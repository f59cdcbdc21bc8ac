"""The architecture presets (`--architecture`): the default stays today's
networks; each preset builds every size with the paper's init, follows its
own layer pattern, and trains, loads, samples and exports from the CLI."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import exit_code, tiny_flags, train_cli

from keras_dcgan import runs
from keras_dcgan.config import ARCHITECTURES, DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.generator import export, latent
from keras_dcgan.networks import build_discriminator, build_generator
from keras_dcgan.networks.presets import PRESETS

OTHERS = ("keras-tutorial", "dcgan-conv")


def tiny(architecture, size=28, channels=1, **extra):
    return DCGANConfig(
        architecture=architecture,
        image_size=size,
        channels=channels,
        latent_dim=8,
        generator_width=8,
        discriminator_width=8,
        **extra,
    )


def layer_list(model):
    return [(x.name, type(x).__name__, tuple(x.output.shape)) for x in model.layers]


# Recorded from the networks before presets existed (32 px, RGB, dropout).
DCGAN_32_GENERATOR = [
    ("project", "Dense", (None, 512)),
    ("project_bn", "BatchNormalization", (None, 512)),
    ("project_relu", "ReLU", (None, 512)),
    ("reshape", "Reshape", (None, 4, 4, 32)),
    ("deconv1", "Conv2DTranspose", (None, 8, 8, 16)),
    ("deconv1_bn", "BatchNormalization", (None, 8, 8, 16)),
    ("deconv1_relu", "ReLU", (None, 8, 8, 16)),
    ("deconv2", "Conv2DTranspose", (None, 16, 16, 8)),
    ("deconv2_bn", "BatchNormalization", (None, 16, 16, 8)),
    ("deconv2_relu", "ReLU", (None, 16, 16, 8)),
    ("deconv3", "Conv2DTranspose", (None, 32, 32, 3)),
    ("tanh", "Activation", (None, 32, 32, 3)),
]
DCGAN_32_DISCRIMINATOR = [
    ("conv1", "Conv2D", (None, 16, 16, 8)),
    ("conv1_lrelu", "LeakyReLU", (None, 16, 16, 8)),
    ("conv2", "Conv2D", (None, 8, 8, 16)),
    ("conv2_bn", "BatchNormalization", (None, 8, 8, 16)),
    ("conv2_lrelu", "LeakyReLU", (None, 8, 8, 16)),
    ("conv3", "Conv2D", (None, 4, 4, 32)),
    ("conv3_bn", "BatchNormalization", (None, 4, 4, 32)),
    ("conv3_lrelu", "LeakyReLU", (None, 4, 4, 32)),
    ("dropout", "Dropout", (None, 4, 4, 32)),
    ("flatten", "Flatten", (None, 512)),
    ("probability", "Dense", (None, 1)),
]


def test_the_default_preset_is_todays_networks():
    config = tiny("dcgan", 32, 3, dropout=0.3)
    assert DCGANConfig().architecture == "dcgan"
    generator, discriminator = build_generator(config), build_discriminator(config)
    assert layer_list(generator) == DCGAN_32_GENERATOR
    assert layer_list(discriminator) == DCGAN_32_DISCRIMINATOR
    assert (generator.count_params(), discriminator.count_params()) == (16867, 11337)


def test_the_registry_holds_the_presets_the_config_accepts():
    assert tuple(PRESETS) == ARCHITECTURES == ("dcgan", *OTHERS)


def kernel_and_gamma_values(models):
    kernels, gammas = [], []
    for model in models:
        for weight in model.weights:
            values = keras.ops.convert_to_numpy(weight).ravel()
            name = weight.path
            if name.endswith("kernel"):
                kernels.append(values)
            elif name.endswith("gamma"):
                gammas.append(values)
            elif name.endswith(("beta", "bias", "moving_mean")):
                assert not values.any(), name
    return np.concatenate(kernels), np.concatenate(gammas)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_preset_builds_every_size_with_the_papers_init(
    architecture, size, channels
):
    config = tiny(architecture, size, channels)
    generator, discriminator = build_generator(config), build_discriminator(config)
    assert (generator.name, discriminator.name) == ("generator", "discriminator")
    assert generator.input_shape == (None, 8)
    assert generator.get_config()["layers"][0]["config"]["name"] == "z"
    images = generator(np.random.default_rng(0).normal(size=(2, 8)), training=False)
    assert images.shape == (2, size, size, channels)
    assert float(np.max(np.abs(images))) <= 1.0
    assert discriminator.output_shape == (None, 1)
    assert discriminator(images).shape == (2, 1)
    kernels, gammas = kernel_and_gamma_values((generator, discriminator))
    assert abs(kernels.mean()) < 2e-3
    assert kernels.std() == pytest.approx(0.02, rel=0.1)
    assert gammas.mean() == pytest.approx(1.0, abs=0.02)
    assert gammas.std() == pytest.approx(0.02, rel=0.5)


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_no_bias_before_a_batch_norm(architecture):
    config = tiny(architecture, 32, 3)
    for model in (build_generator(config), build_discriminator(config)):
        pairs = zip(model.layers, model.layers[1:])
        for layer, following in pairs:
            if isinstance(following, keras.layers.BatchNormalization):
                assert not getattr(layer, "use_bias", False), layer.name


def test_keras_tutorial_layer_pattern():
    config = tiny("keras-tutorial", 64, 3, dropout=0.25)
    generator, discriminator = build_generator(config), build_discriminator(config)
    block = ["LeakyReLU", "BatchNormalization"]
    assert kinds(generator)[:4] == ["Dense", *block, "Reshape"]
    assert kinds(generator)[4:-1] == 4 * ["Conv2DTranspose", *block]
    assert all(
        layer.strides == (2, 2)
        for layer in generator.layers
        if isinstance(layer, keras.layers.Conv2DTranspose)
    )
    last = generator.layers[-1]
    assert type(last) is keras.layers.Conv2D and last.strides == (1, 1)
    assert last.activation is keras.activations.tanh and last.dtype == "float32"
    assert kinds(discriminator) == [
        "Conv2D",
        "LeakyReLU",
        *3 * ["Conv2D", "LeakyReLU", "BatchNormalization"],
        "Dropout",
        "Flatten",
        "Dense",
    ]
    assert all(
        layer.strides == (2, 2)
        for layer in discriminator.layers
        if isinstance(layer, keras.layers.Conv2D)
    )


@pytest.mark.parametrize("size,base", [(28, 7), (64, 4)])
def test_dcgan_conv_layer_pattern(size, base):
    config = tiny("dcgan-conv", size, 1, dropout=0.25)
    generator, discriminator = build_generator(config), build_discriminator(config)
    for model in (generator, discriminator):
        assert "Dense" not in kinds(model)
    reshape, project = generator.layers[:2]
    assert type(reshape) is keras.layers.Reshape
    assert tuple(reshape.output.shape) == (None, 1, 1, 8)
    assert type(project) is keras.layers.Conv2DTranspose
    assert (project.strides, project.padding) == ((1, 1), "valid")
    assert project.output.shape[1:3] == (base, base)
    assert kinds(generator)[-2:] == ["Conv2DTranspose", "Activation"]
    assert kinds(discriminator)[-3:] == ["Dropout", "Conv2D", "Flatten"]
    classifier = discriminator.layers[-2]
    assert classifier.kernel_size == (base, base) and classifier.padding == "valid"
    assert tuple(classifier.input.shape[1:3]) == (base, base)
    assert classifier.activation is keras.activations.sigmoid


@pytest.mark.parametrize("architecture", OTHERS)
def test_mixed_precision_and_synchronized_batch_norm(architecture):
    config = tiny(architecture, precision="mixed_bfloat16")
    generator = build_generator(config, synchronized_batch_norm=True)
    discriminator = build_discriminator(config, synchronized_batch_norm=True)
    assert keras.config.dtype_policy().name == "float32"  # not left set
    for model in (generator, discriminator):
        assert all(w.dtype == "float32" for w in model.weights)
        norms = [
            x for x in model.layers if isinstance(x, keras.layers.BatchNormalization)
        ]
        assert norms and all(x.synchronized for x in norms)
    assert generator.layers[2].compute_dtype == "bfloat16"
    images = generator(tf.random.normal((2, 8)))
    assert images.dtype == "float32" and discriminator(images).dtype == "float32"


def test_an_unknown_architecture_is_refused_listing_the_presets(tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        DCGANConfig(architecture="resnet")
    message = str(info.value)
    assert "\n" not in message and "architecture=" in message
    assert all(name in message for name in ARCHITECTURES)
    config = DCGANConfig()
    config.architecture = "resnet"  # set after validation: the builders refuse
    with pytest.raises(ConfigError, match="dcgan-conv"):
        build_generator(config)
    argv = ["train", "--output-dir", str(tmp_path / "r"), "--architecture", "resnet"]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(name in err for name in ARCHITECTURES)
    assert not (tmp_path / "r").exists()


def test_a_config_file_without_the_key_is_the_dcgan_preset(tmp_path):
    path = str(tmp_path / "config.json")
    DCGANConfig(architecture="dcgan-conv").to_json(path)
    with open(path) as f:
        values = json.load(f)
    assert values["architecture"] == "dcgan-conv"
    del values["architecture"]  # a run written before presets existed
    with open(path, "w") as f:
        json.dump(values, f)
    config = DCGANConfig.from_json(path)
    assert config.architecture == "dcgan"
    assert config.network_fields()["architecture"] == "dcgan"


@pytest.fixture(scope="module", params=OTHERS)
def preset_run(request, tmp_path_factory):
    """A real 2-step `keras-dcgan train --architecture PRESET` run."""
    from helpers import make_images

    root = tmp_path_factory.mktemp(request.param)
    data = str(root / "blobs.npz")
    np.savez(data, x=make_images(32))
    run = str(root / "run")
    flags = ("--steps", "2", "--architecture", request.param, *tiny_flags())
    assert train_cli(data, run, *flags) == 0
    return request.param, data, run


def test_a_preset_run_records_loads_samples_and_refuses_another(
    preset_run, tmp_path, capsys
):
    architecture, data, run = preset_run
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f)["architecture"] == architecture
    generator = runs.load_generator(run)  # safe_mode, shapes checked
    assert generator.name == "generator"
    reference = build_generator(runs.load_run_config(run))
    assert layer_list(generator) == layer_list(reference)
    restored = runs.load_generator(run, checkpoint="latest")  # rebuilt, restored
    z = latent.sample_latents(2, 8, seed=0)
    np.testing.assert_allclose(restored(z), generator(z), atol=1e-6)
    out = str(tmp_path / "s.png")
    assert exit_code(["sample", run, "--num", "4", "--output", out]) == 0
    assert os.path.getsize(out) > 0
    before = os.listdir(os.path.join(run, "checkpoints"))
    capsys.readouterr()
    assert train_cli(data, run, "--resume", "--architecture", "dcgan") == 2
    err = capsys.readouterr().err
    assert f"architecture: run has {architecture!r}, asked 'dcgan'" in err
    assert os.listdir(os.path.join(run, "checkpoints")) == before


@pytest.mark.parametrize("preset_run", ["keras-tutorial"], indirect=True)
def test_a_keras_tutorial_run_exports(preset_run, tmp_path):
    _, _, run = preset_run
    generator = runs.load_generator(run)
    path = export.export_saved_model(generator, str(tmp_path / "serving"))
    served = tf.saved_model.load(path).signatures["serving_default"]
    z = latent.sample_latents(3, 8, seed=0)
    images = served(z=tf.constant(z))["images_float"]
    np.testing.assert_allclose(images, generator(z, training=False), atol=1e-5)
