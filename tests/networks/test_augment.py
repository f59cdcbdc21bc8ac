"""DiffAugment, the first layer of D when `augment` is set: what it does to
images, that G's gradient passes through it, and how the option is read."""

import dataclasses
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dcgan.config import AUGMENTATIONS, DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import build_discriminator
from keras_dcgan.networks.augment import DiffAugment, cut_out, translate

SIDE = 6
IMAGES = np.arange(2 * SIDE * SIDE * 2, dtype="float32").reshape(2, SIDE, SIDE, 2) + 1


def shifted(image, rows, columns):
    """NumPy's reference: `image` moved down and right, zeros let in."""
    out = np.zeros_like(image)
    for i, j in itertools.product(range(SIDE), range(SIDE)):
        if 0 <= i - rows < SIDE and 0 <= j - columns < SIDE:
            out[i, j] = image[i - rows, j - columns]
    return out


@pytest.mark.parametrize("rows", range(-SIDE, SIDE + 1))
def test_translation_moves_each_image_by_its_own_shift_and_lets_in_zeros(rows):
    for columns in range(-SIDE, SIDE + 1):
        out = translate(IMAGES, np.array([rows, -columns]), np.array([columns, 0]))
        out = keras.ops.convert_to_numpy(out)
        np.testing.assert_array_equal(out[0], shifted(IMAGES[0], rows, columns))
        np.testing.assert_array_equal(out[1], shifted(IMAGES[1], -columns, 0))


def test_cutout_zeroes_exactly_the_square_also_past_the_edges():
    size = 3
    for top, left in itertools.product(range(-size, SIDE + 1), repeat=2):
        out = cut_out(IMAGES[:1], np.array([top]), np.array([left]), size)
        out = keras.ops.convert_to_numpy(out)[0]
        expected = IMAGES[0].copy()
        expected[
            max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)
        ] = 0
        np.testing.assert_array_equal(out, expected)


POLICIES = [(name,) for name in AUGMENTATIONS] + [AUGMENTATIONS]


@pytest.mark.parametrize("policy", POLICIES, ids=",".join)
def test_training_augments_inference_passes_through(policy):
    layer = DiffAugment(policy, seed=0)
    images = tf.random.stateless_uniform((8, 28, 28, 1), (1, 2), -1, 1)
    np.testing.assert_array_equal(layer(images, training=False), images)
    first, second = layer(images, training=True), layer(images, training=True)
    assert first.shape == images.shape
    assert not np.array_equal(first, images)
    assert not np.array_equal(first, second)  # new draws at every call


@pytest.mark.parametrize("policy", POLICIES, ids=",".join)
def test_g_gradient_passes_through_every_augmentation(policy):
    layer = DiffAugment(policy, seed=0)
    images = tf.random.stateless_uniform((8, 28, 28, 1), (1, 2), -1, 1)
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = tf.reduce_sum(layer(images, training=True) ** 2)
    gradient = tape.gradient(loss, images)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0


def test_the_seed_makes_the_augmentations_repeatable():
    images = tf.random.stateless_uniform((4, 28, 28, 1), (1, 2), -1, 1)
    a, b = (DiffAugment(AUGMENTATIONS, seed=3) for _ in range(2))
    np.testing.assert_array_equal(a(images, training=True), b(images, training=True))
    assert not np.array_equal(
        DiffAugment(AUGMENTATIONS, seed=4)(images, training=True),
        a(images, training=True),
    )


def test_the_layer_refuses_an_unknown_augmentation():
    with pytest.raises(ValueError, match="no augmentation flip; use color"):
        DiffAugment(("translation", "flip"))


def test_d_starts_with_the_augmentation_only_when_asked(tiny_config):
    plain = build_discriminator(tiny_config)
    config = dataclasses.replace(tiny_config, augment="cutout,translation")
    augmented = build_discriminator(config)
    assert not any(isinstance(layer, DiffAugment) for layer in plain.layers)
    first = augmented.layers[0]
    assert isinstance(first, DiffAugment)
    assert first.policy == ("translation", "cutout")
    assert [len(w.shape) for w in plain.trainable_weights] == [
        len(w.shape) for w in augmented.trainable_weights
    ]


@pytest.mark.parametrize(
    "policy, spelled",
    [
        ("none", "none"),
        ("cutout", "cutout"),
        ("cutout,translation", "translation,cutout"),
        (" color , cutout", "color,cutout"),
    ],
)
def test_a_policy_is_kept_in_one_spelling(policy, spelled):
    assert DCGANConfig(augment=policy).augment == spelled


@pytest.mark.parametrize(
    "policy",
    ["", "flip", "none,cutout", "cutout,cutout", "translation,", 1, None, ["cutout"]],
)
def test_a_bad_policy_is_refused_in_one_line_naming_the_field(policy):
    with pytest.raises(ConfigError) as refused:
        DCGANConfig(augment=policy)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("augment=")
    assert "color, translation, cutout" in message and "--" not in message


@pytest.mark.parametrize("rate", [0.0, -1e-4, float("nan"), float("inf"), "4e-4", True])
def test_a_bad_discriminator_learning_rate_is_refused(rate):
    with pytest.raises(ConfigError, match="^discriminator_learning_rate="):
        DCGANConfig(discriminator_learning_rate=rate)
