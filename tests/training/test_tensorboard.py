"""TensorBoard gets the curves, each epoch's sample grid and the config."""

import dataclasses
import glob
import os

import tensorflow as tf

from keras_dcgan.training import train


def summaries(run):
    """{tag: [(step, plugin name)]} of every summary in the run's events."""
    found = {}
    for path in glob.glob(os.path.join(run, "tensorboard", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(
                    (event.step, value.metadata.plugin_data.plugin_name)
                )
    return found


def test_a_run_shows_its_grids_and_hyperparameters(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    train(dataclasses.replace(tiny_config, epochs=2), images, run, verbose=0)
    found = summaries(run)
    # The grids at the global step, where the curves are (4 steps an epoch
    # of 64 images at batch 16), not at the epoch number.
    steps_per_epoch = 64 // tiny_config.batch_size
    grid_steps = [step for step, _ in found["samples"]]
    assert grid_steps == [steps_per_epoch, 2 * steps_per_epoch]
    assert set(grid_steps) <= {step for step, _ in found["g_loss"]}
    assert found["samples"][0][1] == "images"
    assert any(plugin == "hparams" for values in found.values() for _, plugin in values)
    assert "config" in found and "g_loss" in found
