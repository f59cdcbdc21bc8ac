"""No checkpoint holds a NaN, and a resumed run honours or refuses each flag."""

import dataclasses
import json
import logging
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    SignalAtStep,
    checkpoint_tensors,
    history_steps,
    make_images,
    tiny_flags,
    train_cli,
)

from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN, diversity
from keras_dcgan.errors import NonFiniteLossError, TrainingInterrupted
from keras_dcgan.runs.checkpoints import CheckpointStore, TrainingState, make_checkpoint
from keras_dcgan.training import train

TINY_FLAGS = tiny_flags(num_samples=4, verbose=0)


def non_finite(tensors):
    return sorted(k for k, v in tensors.items() if not np.all(np.isfinite(v)))


class PoisonAfterStep(keras.callbacks.Callback):
    """Writes NaN into a D kernel after step `step`'s own checks: what an
    update that overflows does while the step's loss is still finite."""

    def __init__(self, step):
        super().__init__()
        self.step, self.count = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.step:
            kernel = self.model.layers[1].layers[0].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_nan_weights_behind_a_finite_loss_are_never_checkpointed(
    tmp_path, tiny_config, images
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=10, checkpoint_every=1)
    with pytest.raises(NonFiniteLossError, match="step 3") as info:
        train(config, images, run, callbacks=[PoisonAfterStep(3)], verbose=0)
    assert "ckpt-2" in str(info.value) and "finite" in str(info.value)
    saved = checkpoint_tensors(run)
    assert sorted(saved) == [1, 2]
    assert all(not non_finite(t) for t in saved.values())


# 1e9 is where the loss guard alone saved a poisoned checkpoint (step 1's
# update overflowed, its loss was still finite).
@pytest.mark.parametrize("learning_rate", ["1e9", "1e12"])
def test_a_huge_learning_rate_leaves_only_finite_checkpoints(
    tmp_path, npz_file, capsys, learning_rate
):
    run = str(tmp_path / "run")
    code = train_cli(
        npz_file,
        run,
        "--learning-rate",
        learning_rate,
        "--steps",
        "20",
        "--checkpoint-every",
        "1",
        *TINY_FLAGS,
    )
    assert code == 3  # the CLI's code for a non-finite loss
    err = capsys.readouterr().err
    assert "Non-finite values at step" in err and "Traceback" not in err
    for step, tensors in checkpoint_tensors(run).items():
        assert not non_finite(tensors), step


def test_resume_skips_a_checkpoint_holding_nan(tmp_path, tiny_config, images, caplog):
    # What an older version could leave: the newest checkpoint poisoned.
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=4, checkpoint_every=2)
    train(config, images, run, verbose=0)
    gan = DCGAN(config)
    checkpoint = make_checkpoint(gan, TrainingState())
    store = CheckpointStore(os.path.join(run, "checkpoints"), checkpoint, 5)
    store.restore_latest()
    kernel = gan.discriminator.layers[0].kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    store.save(6)
    with caplog.at_level(logging.INFO):
        train(dataclasses.replace(config, steps=6), images, run, resume=True, verbose=0)
    assert "ckpt-6 holds non-finite weights" in caplog.text
    assert "Resumed from" in caplog.text and "ckpt-4 at step 4" in caplog.text
    assert not non_finite(checkpoint_tensors(run)[6])


def saved_learning_rates(run):
    reader = tf.train.load_checkpoint(os.path.join(run, "checkpoints"))
    return sorted(
        float(reader.get_tensor(k))
        for k in reader.get_variable_to_dtype_map()
        if "learning_rate" in k
    )


@pytest.mark.parametrize(
    "flags, rates",
    [
        ((), [1e-4, 1e-4]),
        (("--discriminator-learning-rate", "4e-4"), [1e-4, 4e-4]),  # TTUR
    ],
    ids=["both", "ttur"],
)
def test_a_learning_rate_changed_on_resume_is_used_and_recorded(
    tmp_path, npz_file, caplog, flags, rates
):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "2", *TINY_FLAGS) == 0
    assert saved_learning_rates(run) == pytest.approx([2e-4, 2e-4])
    caplog.clear()
    resumed = ["--resume", "--steps", "4", "--learning-rate", "1e-4", *flags]
    assert train_cli(npz_file, run, *resumed, "--verbose", "0") == 0
    assert "learning_rate 0.0002 -> 0.0001" in caplog.text
    assert "steps 2 -> 4" in caplog.text
    with open(os.path.join(run, "config.json")) as f:
        saved = json.load(f)
    assert (saved["learning_rate"], saved["steps"]) == (1e-4, 4)
    assert saved["discriminator_learning_rate"] == (float(flags[1]) if flags else None)
    assert saved_learning_rates(run) == pytest.approx(rates)


def test_another_d_update_on_resume_is_used_and_recorded(tmp_path, npz_file, caplog):
    """Two steps with D's two Adam steps each, then two with one each."""
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "2", *TINY_FLAGS) == 0
    caplog.clear()
    resumed = ["--resume", "--steps", "4", "--discriminator-update", "summed"]
    assert train_cli(npz_file, run, *resumed, "--verbose", "0") == 0
    assert "discriminator_update 'separate' -> 'summed'" in caplog.text
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f)["discriminator_update"] == "summed"
    reader = tf.train.load_checkpoint(os.path.join(run, "checkpoints"))
    iterations = "{}_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    assert reader.get_tensor(iterations.format("discriminator")) == 2 * 2 + 2
    assert reader.get_tensor(iterations.format("generator")) == 4


def test_resume_refuses_another_seed_or_batch_size(tmp_path, npz_file, capsys):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "2", *TINY_FLAGS) == 0
    config_file = tmp_path / "run" / "config.json"
    before = config_file.read_text()
    assert train_cli(npz_file, run, "--resume", "--seed", "5", "--batch-size", "8") == 2
    err = capsys.readouterr().err
    assert "seed: run has 0, asked 5" in err
    assert "batch_size: run has 16, asked 8" in err
    assert config_file.read_text() == before


def test_resume_refuses_other_data_unless_allowed(tmp_path, npz_file, capsys):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "2", *TINY_FLAGS) == 0
    other = str(tmp_path / "other.npz")
    np.savez(other, x=make_images(64, seed=1))
    assert train_cli(other, run, "--resume", "--steps", "4") == 2
    err = capsys.readouterr().err
    assert "data differs" in err and "--allow-data-change" in err
    assert not os.path.exists(os.path.join(run, "checkpoints", "ckpt-4.index"))
    # The same images under another name are the same data.
    moved = str(tmp_path / "moved.npz")
    os.rename(npz_file, moved)
    assert train_cli(moved, run, "--resume", "--steps", "3") == 0
    assert train_cli(other, run, "--resume", "--steps", "4", "--allow-data-change") == 0
    with open(os.path.join(run, "data.json")) as f:
        assert other in json.load(f)["source"]


OPTIMIZERS = ("discriminator_optimizer", "generator_optimizer")


class SaveOptimizersAtStart(keras.callbacks.Callback):
    """Writes both optimizers, as restored, before the first resumed step."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        discriminator = self.model.layers[1]
        tf.train.Checkpoint(
            discriminator_optimizer=discriminator.optimizer,
            generator_optimizer=self.model.optimizer,
        ).write(self.path)


def optimizer_tensors(path):
    """{name: array} of the optimizer variables in a checkpoint."""
    reader = tf.train.load_checkpoint(path)
    return {
        key: reader.get_tensor(key)
        for key in reader.get_variable_to_dtype_map()
        if key.startswith(OPTIMIZERS)
    }


def test_resume_under_mixed_float16_restores_the_loss_scale(
    tmp_path, tiny_config, images
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config, steps=50, checkpoint_every=100, precision="mixed_float16"
    )
    with pytest.raises(TrainingInterrupted):
        train(config, images, run, callbacks=[SignalAtStep(3)], verbose=0)
    saved = optimizer_tensors(os.path.join(run, "checkpoints"))
    for name in OPTIMIZERS:
        scale = saved[f"{name}/dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE"]
        count = saved[f"{name}/step_counter/.ATTRIBUTES/VARIABLE_VALUE"]
        # Not the state of a fresh LossScaleOptimizer (2^15, 0 steps).
        assert (float(scale), int(count)) != (2.0**15, 0), name

    restored = str(tmp_path / "restored")
    train(
        dataclasses.replace(config, steps=5),
        images,
        run,
        resume=True,
        callbacks=[SaveOptimizersAtStart(restored)],
        verbose=0,
    )
    restored = optimizer_tensors(restored)
    assert sorted(restored) == sorted(saved)
    for key, value in saved.items():
        np.testing.assert_array_equal(restored[key], value, err_msg=key)
    assert history_steps(run) == [1, 2, 3, 4, 5]
    assert os.path.isfile(os.path.join(run, "generator.keras"))


def test_diversity_is_nan_on_constant_data_and_does_not_stop_training(
    tmp_path, tiny_config
):
    flat = np.full((4, 28, 28, 1), 0.5, np.float32)
    fakes = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1))
    assert np.isnan(float(diversity(flat, fakes.astype(np.float32))))
    constant = from_array(np.full((32, 28, 28), 200, np.uint8), 28, 1)
    history = train(
        dataclasses.replace(tiny_config, steps=3),
        constant,
        str(tmp_path / "run"),
        verbose=0,
    )
    assert history["step"] == [1, 2, 3]
