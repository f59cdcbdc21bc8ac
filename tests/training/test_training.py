import dataclasses
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import history_steps, make_images

from keras_dcgan.data import from_array
from keras_dcgan.errors import ConfigError, DataError, RunError
from keras_dcgan.runs import load_generator
from keras_dcgan.runs.checkpoints import restore_models
from keras_dcgan.training import train


def test_a_run_writes_everything_a_user_opens(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, epochs=2)
    history = train(config, images, run, verbose=0)
    assert history["step"] == list(range(1, 9))
    assert history_steps(run) == list(range(1, 9))
    for name in (
        "config.json",
        "losses.png",
        "progress.gif",
        "generator.keras",
        "discriminator.keras",
        "samples/epoch_0001.png",
        "samples/epoch_0002.png",
        "checkpoints/checkpoint",
    ):
        assert os.path.getsize(os.path.join(run, name)) > 0, name
    generator = keras.saving.load_model(
        os.path.join(run, "generator.keras"), safe_mode=True
    )
    images_out = generator(np.random.normal(size=(4, 8)).astype("float32"))
    assert images_out.shape == (4, 28, 28, 1)
    assert np.all(np.abs(images_out) <= 1.0)
    assert not [f for f in os.listdir(run) if "tmp" in f]


def test_resume_continues_at_the_saved_step(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    train(
        dataclasses.replace(tiny_config, steps=6, checkpoint_every=3),
        images,
        run,
        verbose=0,
    )
    resumed = dataclasses.replace(tiny_config, steps=10, checkpoint_every=3)
    history = train(resumed, images, run, resume=True, verbose=0)
    assert history["step"] == list(range(1, 11))
    assert history_steps(run) == list(range(1, 11))
    generator, discriminator = restore_models(run)
    reader = tf.train.load_checkpoint(os.path.join(run, "checkpoints"))
    assert reader.get_tensor("state/step/.ATTRIBUTES/VARIABLE_VALUE") == 10
    assert (
        reader.get_tensor("generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
        == 10
    )


def test_resumed_run_equals_an_uninterrupted_one(
    tmp_path, tiny_config, images, op_determinism
):
    config = dataclasses.replace(tiny_config, steps=7, checkpoint_every=1)
    train(config, images, str(tmp_path / "straight"), verbose=0)
    train(
        dataclasses.replace(config, steps=3), images, str(tmp_path / "split"), verbose=0
    )
    train(config, images, str(tmp_path / "split"), resume=True, verbose=0)
    straight = load_generator(str(tmp_path / "straight")).weights
    split = load_generator(str(tmp_path / "split")).weights
    for a, b in zip(straight, split):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_non_empty_output_dir_is_refused(tmp_path, tiny_config, images):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(RunError, match="resume=True .* overwrite=True"):
        train(tiny_config, images, str(tmp_path), verbose=0)
    with pytest.raises(RunError, match="not a keras_dcgan run"):
        train(tiny_config, images, str(tmp_path), overwrite=True, verbose=0)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_overwrite_replaces_a_previous_run(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    train(dataclasses.replace(tiny_config, steps=3), images, run, verbose=0)
    history = train(
        dataclasses.replace(tiny_config, steps=2),
        images,
        run,
        overwrite=True,
        verbose=0,
    )
    assert history_steps(run) == [1, 2] and history["step"] == [1, 2]


@pytest.mark.parametrize(
    "before, after, message",
    [
        (
            {},
            {"latent_dim": 16, "generator_width": 4},
            "latent_dim: run has 8, asked 16",
        ),
        ({}, {"augment": "cutout"}, "augment: run has 'none', asked 'cutout'"),
        (
            {"augment": "translation"},
            {"augment": "none"},
            "augment: run has 'translation', asked 'none'",
        ),
        (
            {},
            {"discriminator_norm": "spectral"},
            "discriminator_norm: run has 'batch', asked 'spectral'",
        ),
        (
            {},
            {"batch_norm_position": "after"},
            "batch_norm_position: run has 'before', asked 'after'",
        ),
        (
            {"generator_output": "conv"},
            {"generator_output": "transpose"},
            "generator_output: run has 'conv', asked 'transpose'",
        ),
    ],
    ids=["latent", "augment-added", "augment-removed", "spectral", "bn-after", "out"],
)
def test_resume_refuses_another_architecture(
    tmp_path, tiny_config, images, before, after, message
):
    run = str(tmp_path / "run")
    first = dataclasses.replace(tiny_config, steps=2, **before)
    train(first, images, run, verbose=0)
    other = dataclasses.replace(first, steps=4, **after)
    with pytest.raises(ConfigError, match=re.escape(message)):
        train(other, images, run, resume=True, verbose=0)
    train(dataclasses.replace(first, steps=3), images, run, resume=True, verbose=0)


def test_resume_without_a_run_is_refused(tmp_path, tiny_config, images):
    with pytest.raises(RunError, match="holds no run"):
        train(tiny_config, images, str(tmp_path / "new"), resume=True)


def test_too_few_images_for_one_batch(tmp_path, tiny_config):
    small = from_array(make_images(8), 28, 1)
    with pytest.raises(DataError, match="batch_size="):
        train(tiny_config, small, str(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run")


class StopAfter(keras.callbacks.Callback):
    def __init__(self, steps):
        super().__init__()
        self.steps, self.seen, self.epochs = steps, [], 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append((batch, sorted(logs)))
        if len(self.seen) == self.steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_keras_callbacks_see_every_step_and_can_stop(tmp_path, tiny_config, images):
    callback = StopAfter(5)
    run = str(tmp_path / "run")
    train(
        dataclasses.replace(tiny_config, epochs=10),
        images,
        run,
        callbacks=[callback],
        verbose=0,
    )
    assert [b for b, _ in callback.seen] == [0, 1, 2, 3, 0]  # per epoch
    assert "g_loss" in callback.seen[0][1] and "d_of_real" in callback.seen[0][1]
    assert callback.epochs == 2
    assert history_steps(run) == [1, 2, 3, 4, 5]
    assert os.path.exists(os.path.join(run, "checkpoints", "ckpt-5.index"))
