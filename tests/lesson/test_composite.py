"""The frozen-discriminator pattern: who learns in which step."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import real_batch

from keras_dcgan.composite import CompositeDCGAN
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.networks import build_discriminator, build_generator


def snapshot(variables):
    return {v.path: keras.ops.convert_to_numpy(v).copy() for v in variables}


def changed(before, variables):
    after = snapshot(variables)
    return {name for name in before if not np.array_equal(before[name], after[name])}


@pytest.fixture(
    params=[
        (CompositeDCGAN, "batch"),
        (CompositeDCGAN, "moving"),
        (DCGAN, "batch"),
        (DCGAN, "moving"),
    ],
    ids=["lesson-batch", "lesson-moving", "dcgan-batch", "dcgan-moving"],
)
def gan(request, tiny_config):
    """The lesson module's class and the production one it is part of."""
    keras.utils.set_random_seed(0)
    cls, stats = request.param
    return cls(dataclasses.replace(tiny_config, frozen_bn_stats=stats))


VARIANTS = {  # the other presets, and the options that change D or its step
    "keras-tutorial": {"architecture": "keras-tutorial"},
    "dcgan-conv": {"architecture": "dcgan-conv"},
    "augment": {"augment": "color,translation,cutout"},
    "ttur": {"learning_rate": 1e-4, "discriminator_learning_rate": 4e-4},
    "spectral": {"discriminator_norm": "spectral"},
    # The keras-tutorial preset's layers, on the paper's networks.
    "tutorial-layers": {
        "generator_activation": "leaky_relu",
        "batch_norm_position": "after",
        "generator_output": "conv",
    },
    "summed": {"discriminator_update": "summed"},
}


@pytest.fixture(
    params=[
        (variant, cls, stats)
        for variant in VARIANTS
        for cls, stats in ((CompositeDCGAN, "batch"), (DCGAN, "moving"))
    ],
    ids=lambda p: f"{p[0]}-{'lesson' if p[1] is CompositeDCGAN else 'dcgan'}-{p[2]}",
)
def preset_gan(request, tiny_config):
    """The other presets and options, in both classes and both freezes."""
    keras.utils.set_random_seed(0)
    variant, cls, stats = request.param
    fields = dict(VARIANTS[variant], frozen_bn_stats=stats)
    return cls(dataclasses.replace(tiny_config, **fields))


def trainable_names(model):
    """What an optimizer trains: not BatchNorm's moving statistics, the
    state of an augmentation's random numbers or spectral normalization's
    power iteration."""
    state = ("moving", "seed_generator", "vector_u")
    return {v.path for v in model.weights if not any(s in v.path for s in state)}


def check_discriminator_step(gan):
    """D's step moves every weight of D and none of G."""
    z, fakes = gan.make_fakes()
    d_before = snapshot(gan.discriminator.weights)
    g_before = snapshot(gan.generator.weights)
    gan.discriminator_step(real_batch(gan.config), fakes)
    assert trainable_names(gan.discriminator) <= changed(
        d_before, gan.discriminator.weights
    )
    assert not changed(g_before, gan.generator.weights)


def check_generator_step(gan, repeats=3):
    """G's step moves every weight of G; D's stay bit-identical."""
    z, fakes = gan.make_fakes()
    gan.discriminator_step(real_batch(gan.config), fakes)  # trace D first
    for _ in range(repeats):  # and again after the combined model is traced
        z, fakes = gan.make_fakes()
        d_before = snapshot(gan.discriminator.weights)
        g_before = snapshot(gan.generator.weights)
        gan.generator_step(z)
        d_changed = changed(d_before, gan.discriminator.weights)
        assert not d_changed & trainable_names(gan.discriminator)
        assert trainable_names(gan.generator) <= changed(
            g_before, gan.generator.weights
        )
        gan.discriminator_step(real_batch(gan.config, seed=1), fakes)


def test_discriminator_step_moves_every_d_weight_and_no_g_weight(gan):
    check_discriminator_step(gan)


def test_generator_step_moves_g_and_keeps_d_weights_bit_identical(gan):
    check_generator_step(gan)


def test_every_preset_freezes_d_in_g_step_and_trains_it_in_its_own(preset_gan):
    check_discriminator_step(preset_gan)
    check_generator_step(preset_gan, repeats=2)


def test_frozen_bn_statistics_follow_the_mode(gan):
    """ "batch": D judges fakes with batch statistics and its moving averages
    update (as the PyTorch reference); "moving": inference-mode BatchNorm."""
    gan.train_step(real_batch(gan.config))
    z, _ = gan.make_fakes()
    # G's forward as the combined step will run it (same z, batch statistics).
    fakes = gan.generator(z, training=True)
    moving = [v for v in gan.discriminator.weights if "moving" in v.path]
    before = snapshot(moving)
    gan.set_discriminator_frozen(False)
    moving_stats = float(tf.reduce_mean(gan.discriminator(fakes, training=False)))
    batch_stats = float(tf.reduce_mean(gan.discriminator(fakes, training=True)))
    for variable in moving:  # undo the training-mode call's update
        variable.assign(before[variable.path])
    assert abs(batch_stats - moving_stats) > 1e-4
    reported = gan.generator_step(z)["d_of_fake"]
    expected = batch_stats if gan.config.frozen_bn_stats == "batch" else moving_stats
    assert reported == pytest.approx(expected, abs=1e-5)
    moved = changed(before, moving)
    assert bool(moved) == (gan.config.frozen_bn_stats == "batch")


def test_classic_recipe_leaves_d_frozen_forever(tiny_config):
    """Why the toggle matters: compile D, freeze, compile the combined model
    (the Keras 2 recipe) and D's own train_on_batch never changes it."""
    generator = build_generator(tiny_config)
    discriminator = build_discriminator(tiny_config)
    discriminator.compile(optimizer="adam", loss="binary_crossentropy")
    discriminator.trainable = False
    combined = keras.Sequential([generator, discriminator])
    combined.compile(optimizer="adam", loss="binary_crossentropy")
    before = snapshot(discriminator.weights)
    labels = np.ones((tiny_config.batch_size, 1), "float32")
    discriminator.train_on_batch(real_batch(tiny_config), labels)
    assert not changed(before, discriminator.weights)


def test_one_sided_label_smoothing(tiny_config):
    gan = DCGAN(dataclasses.replace(tiny_config, label_smoothing=0.1))
    np.testing.assert_allclose(gan.real_labels, 0.9)
    np.testing.assert_allclose(gan.fake_labels, 0.0)
    np.testing.assert_allclose(gan.generator_labels, 1.0)


def test_train_step_reports_finite_losses_and_probabilities(gan):
    logs = gan.train_step(real_batch(gan.config))
    lesson = {
        "d_loss_real",
        "d_loss_fake",
        "d_loss",
        "g_loss",
        "d_of_real",
        "d_of_fake",
    }
    assert set(logs) == (
        lesson if type(gan) is CompositeDCGAN else lesson | {"diversity"}
    )
    assert all(np.isfinite(v) for v in logs.values())
    assert 0 <= logs["d_of_real"] <= 1 and 0 <= logs["d_of_fake"] <= 1


def test_diversity_is_one_for_alike_batches_and_zero_for_a_collapsed_one():
    from keras_dcgan.dcgan import diversity

    real = tf.random.stateless_uniform((32, 8, 8, 1), (1, 2), -1.0, 1.0)
    other = tf.random.stateless_uniform((32, 8, 8, 1), (3, 4), -1.0, 1.0)
    collapsed = tf.repeat(other[:1], 32, axis=0)
    assert float(diversity(real, other)) == pytest.approx(1.0, abs=0.05)
    assert float(diversity(real, collapsed)) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("variant", ["default", "augment", "spectral", "summed"])
@pytest.mark.parametrize(
    "precision,compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")]
)
def test_mixed_precision_trains_with_float32_weights_and_outputs(
    tiny_config, precision, compute, variant
):
    fields = VARIANTS.get(variant, {})
    gan = DCGAN(dataclasses.replace(tiny_config, precision=precision, **fields))
    conv = gan.discriminator.get_layer("conv2")
    assert conv.compute_dtype == compute and conv.kernel.dtype == "float32"
    assert gan.generator.get_layer("deconv1").compute_dtype == compute
    assert keras.config.dtype_policy().name == "float32"  # not left set
    logs = gan.train_step(real_batch(gan.config))
    assert all(np.isfinite(v) for v in logs.values())
    images = gan.generate(tf.random.normal((4, 8)))
    assert images.dtype == "float32" and float(tf.reduce_max(tf.abs(images))) <= 1
    is_scaled = isinstance(gan.combined.optimizer, keras.optimizers.LossScaleOptimizer)
    assert is_scaled == (precision == "mixed_float16")


@pytest.mark.parametrize("jit_compile", [True, False])
def test_frozen_pattern_holds_with_and_without_xla(tiny_config, jit_compile):
    """The default picks XLA by device; both ways D moves only in its step."""
    gan = DCGAN(tiny_config, jit_compile=jit_compile)
    assert gan.jit_compile is jit_compile
    for seed in range(2):  # the second time, both functions are traced
        z, fakes = gan.make_fakes()
        d_before = snapshot(gan.discriminator.weights)
        gan.discriminator_step(real_batch(gan.config, seed), fakes)
        assert trainable_names(gan.discriminator) <= changed(
            d_before, gan.discriminator.weights
        )
        d_before = snapshot(gan.discriminator.weights)
        g_before = snapshot(gan.generator.weights)
        gan.generator_step(z)
        assert not (
            changed(d_before, gan.discriminator.weights)
            & trainable_names(gan.discriminator)
        )
        assert trainable_names(gan.generator) <= changed(
            g_before, gan.generator.weights
        )


def test_steps_never_retrace(tiny_config):
    """Each train function is traced once, however many steps run."""
    gan = DCGAN(tiny_config)
    traces = {"discriminator": 0, "combined": 0}
    for name in traces:
        model = getattr(gan, name)
        step = model.train_step

        def counted(data, name=name, step=step):
            traces[name] += 1  # Python runs only while tracing
            return step(data)

        model.train_step = counted
    for seed in range(4):
        gan.train_step(real_batch(tiny_config, seed))
    assert traces == {"discriminator": 1, "combined": 1}
    assert gan._forward.experimental_get_tracing_count() == 1
    assert gan._noise.experimental_get_tracing_count() == 1
    assert gan._diversity.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "hook",
    [
        # Each compile() gets the lesson's arguments through the hook.
        dict(options=lambda options: dict(options, run_eagerly=True)),
        # Each label batch goes through the hook, once.
        dict(labels=lambda batch: batch * 0.5),
        dict(
            options=lambda options: dict(options, run_eagerly=True),
            labels=lambda batch: batch * 0.5,
        ),
    ],
    ids=["options", "labels", "both"],
)
def test_the_lesson_takes_what_a_subclass_changes_as_arguments(tiny_config, hook):
    config = dataclasses.replace(tiny_config, label_smoothing=0.1)
    generator, discriminator = build_generator(config), build_discriminator(config)
    gan = CompositeDCGAN(config, generator, discriminator, **hook)
    assert gan.generator is generator and gan.discriminator is discriminator
    eager = "options" in hook
    assert gan.discriminator.run_eagerly == eager == gan.combined.run_eagerly
    scale = 0.5 if "labels" in hook else 1.0
    np.testing.assert_allclose(gan.real_labels, 0.9 * scale)
    np.testing.assert_allclose(gan.fake_labels, 0.0)
    np.testing.assert_allclose(gan.generator_labels, scale)
    logs = gan.train_step(real_batch(config))
    assert all(np.isfinite(float(value)) for value in logs.values())


@pytest.mark.parametrize("ema", [0.0, 0.9], ids=["raw", "ema"])
@pytest.mark.parametrize("replicas", [1, 2])
def test_dcgan_sets_nothing_before_the_lessons_constructor(tiny_config, ema, replicas):
    """No state before `super().__init__`, no method of the lesson's
    constructor overridden: DCGAN hands its changes in as arguments."""
    from keras_dcgan.devices import distribute

    seen = []

    class Traced(DCGAN):
        def __setattr__(self, name, value):
            seen.append(name)
            super().__setattr__(name, value)

    strategy = distribute.make_strategy("mirrored") if replicas == 2 else None
    gan = Traced(dataclasses.replace(tiny_config, ema=ema), strategy=strategy)
    assert seen[0] == "config", seen  # the lesson's constructor's first line
    for name in ("compile_options", "set_discriminator_frozen"):
        assert getattr(DCGAN, name) is getattr(CompositeDCGAN, name)
    assert gan.strategy.num_replicas_in_sync == replicas


def bce_before_the_step(discriminator, images, target):
    """D's BCE on `images` in training mode, its moving statistics put back."""
    moving = [v for v in discriminator.weights if "moving" in v.path]
    before = snapshot(moving)
    probability = discriminator(images, training=True)
    for variable in moving:
        variable.assign(before[variable.path])
    labels = tf.fill(tf.shape(probability), target)
    return float(keras.ops.mean(keras.losses.binary_crossentropy(labels, probability)))


@pytest.mark.parametrize("cls", [CompositeDCGAN, DCGAN])
@pytest.mark.parametrize("update,adam_steps", [("separate", 2), ("summed", 1)])
def test_d_takes_an_adam_step_per_batch_or_one_on_both(
    tiny_config, cls, update, adam_steps
):
    """ "separate": two Adam steps, the fake loss after the real step;
    "summed": one step, both losses from the same D (the PyTorch step)."""
    keras.utils.set_random_seed(0)
    gan = cls(dataclasses.replace(tiny_config, discriminator_update=update))
    z, fakes = gan.make_fakes()
    real = real_batch(gan.config)
    fake_loss_now = bce_before_the_step(gan.discriminator, fakes, 0.0)
    d_before = snapshot(gan.discriminator.trainable_weights)
    logs = gan.discriminator_step(real, fakes)
    assert int(gan.discriminator.optimizer.iterations) == adam_steps
    assert changed(d_before, gan.discriminator.trainable_weights) == set(d_before)
    assert logs["d_loss"] == pytest.approx(
        0.5 * (logs["d_loss_real"] + logs["d_loss_fake"])
    )
    same_d = logs["d_loss_fake"] == pytest.approx(fake_loss_now, rel=1e-5)
    assert same_d == (update == "summed")
    logs.update(gan.generator_step(z))
    assert all(np.isfinite(float(v)) for v in logs.values())
