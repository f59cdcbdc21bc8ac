"""The read side of checkpoints: a run's generator (and its average) comes
back from a checkpoint with only G built (no optimizer, no compiled
composite), and maps latents to exactly the images of the generator the
whole trainer restores from the same checkpoint."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, make_images

from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.runs import load_generator
from keras_dcgan.runs.checkpoints import TrainingState, make_checkpoint
from keras_dcgan.training import train

# Every checkpoint a reader can choose, each generator of a run with --ema.
CHOICES = [
    (checkpoint, generator)
    for checkpoint in ("latest", 2, 4)
    for generator in ("ema", "raw")
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run of 4 steps with --ema 0.9, checkpoints at 2 and 4."""
    root = tmp_path_factory.mktemp("read")
    config = DCGANConfig(**TINY, steps=4, checkpoint_every=2, ema=0.9)
    run = str(root / "run")
    train(config, from_array(make_images(64), 28, 1), run, verbose=0)
    return run, config


@pytest.fixture
def counted(monkeypatch):
    """{"optimizers": n, "compiles": n, "functions": n} made while inside;
    the real constructors still run (they are counted, not replaced)."""
    counts = {"optimizers": 0, "compiles": 0, "functions": 0}

    def counting(owner, name, key):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            counts[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(keras.optimizers.Optimizer, "__init__", "optimizers")
    counting(keras.Model, "compile", "compiles")
    counting(tf, "function", "functions")
    return counts


@pytest.mark.parametrize("checkpoint,generator", CHOICES)
def test_reading_a_generator_builds_no_optimizer(run, counted, checkpoint, generator):
    path, _ = run
    model = load_generator(path, checkpoint=checkpoint, generator=generator)
    assert model.output_shape == (None, 28, 28, 1)
    assert counted == {"optimizers": 0, "compiles": 0, "functions": 0}


@pytest.mark.parametrize("checkpoint,generator", CHOICES)
def test_a_read_generator_equals_the_trainers(run, checkpoint, generator):
    """Bit for bit: the same weights and images as the generator of the
    whole trainer (models, optimizers, counters) restored from that
    checkpoint, as training resumes it."""
    path, config = run
    step = 4 if checkpoint == "latest" else checkpoint
    gan = DCGAN(config)
    make_checkpoint(gan, TrainingState()).restore(
        os.path.join(path, "checkpoints", f"ckpt-{step}")
    ).assert_existing_objects_matched()
    expected = gan.average.model if generator == "ema" else gan.generator
    model = load_generator(path, checkpoint=checkpoint, generator=generator)
    for got, want in zip(model.weights, expected.weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    z = np.random.default_rng(0).normal(size=(5, 8)).astype("float32")
    np.testing.assert_array_equal(
        model(z, training=False).numpy(), expected(z, training=False).numpy()
    )
