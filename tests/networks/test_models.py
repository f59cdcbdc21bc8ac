import keras
import numpy as np
import pytest

from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import build_discriminator, build_generator


@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(size, channels):
    config = DCGANConfig(
        image_size=size,
        channels=channels,
        latent_dim=8,
        generator_width=8,
        discriminator_width=8,
    )
    generator, discriminator = build_generator(config), build_discriminator(config)
    images = generator(np.random.normal(size=(2, 8)).astype("float32"))
    assert images.shape == (2, size, size, channels)
    assert float(np.max(np.abs(images))) <= 1.0
    assert discriminator(images).shape == (2, 1)
    assert generator.get_config()["layers"][0]["config"]["name"] == "z"


def test_paper_generator_at_64_pixels():
    generator = build_generator(DCGANConfig(image_size=64, channels=3))
    shapes = [
        layer.output.shape[1:]
        for layer in generator.layers
        if isinstance(layer, (keras.layers.Reshape, keras.layers.Conv2DTranspose))
    ]
    assert shapes == [
        (4, 4, 512),
        (8, 8, 256),
        (16, 16, 128),
        (32, 32, 64),
        (64, 64, 3),
    ]


def test_discriminator_has_no_pooling_and_bn_after_the_first_conv():
    discriminator = build_discriminator(DCGANConfig(image_size=64, dropout=0.3))
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert not any("Pool" in kind for kind in kinds)
    assert kinds[:2] == ["Conv2D", "LeakyReLU"]
    assert kinds[2:5] == ["Conv2D", "BatchNormalization", "LeakyReLU"]
    assert kinds[-3:] == ["Dropout", "Flatten", "Dense"]
    assert sum(kind == "Dense" for kind in kinds) == 1
    assert discriminator.layers[1].negative_slope == pytest.approx(0.2)


def test_init_statistics():
    config = DCGANConfig(image_size=64, channels=3)
    for model in (build_generator(config), build_discriminator(config)):
        for weight in model.weights:
            values = keras.ops.convert_to_numpy(weight).ravel()
            name = weight.path
            if name.endswith("kernel") and values.size > 10_000:
                assert abs(values.mean()) < 1e-3, name
                assert values.std() == pytest.approx(0.02, rel=0.05), name
            elif name.endswith("gamma") and values.size >= 256:
                assert values.mean() == pytest.approx(1.0, abs=0.005), name
                assert values.std() == pytest.approx(0.02, rel=0.25), name
            elif name.endswith("beta"):
                assert not values.any(), name


def test_saved_models_load_in_safe_mode(tmp_path, tiny_config):
    for model in (build_generator(tiny_config), build_discriminator(tiny_config)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        x = np.random.normal(size=(2,) + model.input_shape[1:]).astype("float32")
        np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
        assert not any(
            isinstance(layer, keras.layers.Lambda) for layer in loaded.layers
        )


@pytest.mark.parametrize(
    "field,value,hint",
    [
        ("image_size", 48, "28, 32, 64, 128"),
        ("channels", 2, "1 for grayscale or 3 for RGB"),
        ("latent_dim", 0, "an integer from 1 to 4096"),
        ("label_smoothing", 0.9, "from 0.0 to 0.5"),
        ("learning_rate", float("nan"), "a finite number"),
        ("frozen_bn_stats", "running", "one of batch, moving"),
        ("dropout", 1.0, "from 0.0 to 1.0"),
        ("architecture", "resnet", "keras-tutorial, dcgan-conv"),
    ],
)
def test_bad_config_values_are_refused_with_the_fix(field, value, hint):
    with pytest.raises(ConfigError, match=hint) as info:
        DCGANConfig(**{field: value})
    message = str(info.value)  # the parameter's name, not a flag
    assert message.startswith(f"{field}=") and "--" not in message
