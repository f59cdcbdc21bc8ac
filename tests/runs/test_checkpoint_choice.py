"""`--checkpoint latest|best|STEP` on every command that reads a generator,
and `load_generator(run, checkpoint=...)`: the chosen checkpoint's images,
read only; a choice the run cannot meet is one line naming the fix."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    TINY,
    BreakAtStep,
    SignalAtStep,
    exit_code,
    make_images,
    snapshot,
)

from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.errors import RunError, TrainingInterrupted
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.quality.classifier import train_classifier
from keras_dcgan.runs import load_generator, load_run_config
from keras_dcgan.runs.checkpoints import TrainingState, make_checkpoint
from keras_dcgan.training import train


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """`run`: checkpoints of steps 4, 6 and 8 and a best one (2, 4 or 6: the
    generator is zeroed at step 7, so 8 is the worst); `plain`: no best,
    stopped by a signal at step 6, its generator.keras of step 4 (its first
    run's end); a classifier and labelled images."""
    root = tmp_path_factory.mktemp("choice")
    x = make_images(64)
    labelled = str(root / "labelled.npz")
    np.savez(labelled, x=x, y=(x.reshape(64, -1).mean(axis=1) > 60))
    clf = str(root / "clf.keras")
    train_classifier(
        x[..., None], np.load(labelled)["y"].astype("int64"), clf, epochs=1
    )
    run = str(root / "run")
    config = DCGANConfig(
        **dict(TINY, num_samples=4),
        steps=8,
        checkpoint_every=2,
        eval_every=2,
        eval_metric="is",
        eval_features=f"classifier:{clf}",
        eval_num=32,
    )
    train(
        config,
        from_array(x, 28, 1),
        run,
        callbacks=[BreakAtStep(7, "zeros")],
        verbose=0,
    )
    plain = str(root / "plain")
    config = dataclasses.replace(config, eval_every=0, steps=4)
    train(config, from_array(x, 28, 1), plain, verbose=0)
    with pytest.raises(TrainingInterrupted):
        train(
            dataclasses.replace(config, steps=8),
            from_array(x, 28, 1),
            plain,
            resume=True,
            verbose=0,
            callbacks=[SignalAtStep(2)],
        )
    return {"root": root, "run": run, "plain": plain, "data": labelled, "clf": clf}


def by_hand(run, path, seed=3, num=8):
    """The images `sample --seed 3 --num 8` must give from checkpoint
    `path`, restored without keras_dcgan's loading code."""
    gan = DCGAN(load_run_config(run))
    make_checkpoint(gan, TrainingState()).restore(path).expect_partial()
    return generate(gan.generator, sample_latents(num, 8, seed))


def sampled(run, *flags, out):
    assert (
        main(["sample", run, "--num", "8", "--seed", "3", "--output", out, *flags]) == 0
    )
    return np.load(out)["x"]


@pytest.mark.parametrize(
    "which,choice", [("run", "best"), ("run", "6"), ("plain", "latest")]
)
def test_sample_checkpoint_gives_that_checkpoints_images(work, which, choice):
    run, root = work[which], work["root"]
    folder = os.path.join(run, "checkpoints")
    path = {
        "best": tf.train.latest_checkpoint(os.path.join(folder, "best")),
        "latest": os.path.join(folder, "ckpt-6"),
        "6": os.path.join(folder, "ckpt-6"),
    }[choice]
    before = snapshot(run)
    images = sampled(run, "--checkpoint", choice, out=str(root / "s.npz"))
    assert snapshot(run) == before  # read only
    np.testing.assert_array_equal(images, by_hand(run, path))
    # generator.keras: `run`'s was zeroed at step 7, `plain`'s is of step 4.
    assert not np.array_equal(images, sampled(run, out=str(root / "d.npz")))


def test_load_generator_takes_the_same_choices(work):
    run = work["run"]
    best = tf.train.latest_checkpoint(os.path.join(run, "checkpoints", "best"))
    step = int(best.rsplit("-", 1)[1])
    z = sample_latents(8, 8, 3)
    for choice in ("best", step):
        generator = load_generator(run, checkpoint=choice)
        np.testing.assert_array_equal(generate(generator, z), by_hand(run, best))
    with pytest.raises(RunError, match="use latest .* best .* a step"):
        load_generator(run, checkpoint="newest")


COMMANDS = {
    "sample": ["--output", "{root}/o.png"],
    "export": ["--output-dir", "{root}/served"],
    "interpolate": ["--output", "{root}/o.png"],
    "arithmetic": [
        "--latents",
        "{root}/z.npy",
        "--plus",
        "0",
        "--output",
        "{root}/o.png",
    ],
    "nearest": ["--data", "{data}", "--output", "{root}/o.png"],
    "evaluate": [
        "--data",
        "{data}",
        "--features",
        "classifier:{clf}",
        "--num",
        "16",
        "--batch-size",
        "16",
    ],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_reader_refuses_a_step_the_run_lacks(work, command, capsys):
    root = work["root"]
    np.save(root / "z.npy", sample_latents(4, 8, 0))
    flags = [f.format(**work) for f in COMMANDS[command]]
    before = snapshot(root)
    assert main([command, work["run"], *flags, "--checkpoint", "123"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    best = tf.train.latest_checkpoint(os.path.join(work["run"], "checkpoints", "best"))
    steps = sorted({int(best.rsplit("-", 1)[1]), 4, 6, 8})
    assert (
        "has no checkpoint of step 123; its checkpoints are of steps "
        + ", ".join(map(str, steps))
    ) in err
    assert snapshot(root) == before  # nothing written, nothing changed


def test_best_on_a_run_without_one_names_the_flags_that_keep_it(work, capsys):
    out = str(work["root"] / "none.png")
    assert main(["sample", work["plain"], "--checkpoint", "best", "--output", out]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "no best checkpoint" in err
    assert "--eval-every" in err and "--eval-features" in err
    assert "steps 2, 4, 6" in err and not os.path.exists(out)


@pytest.mark.parametrize("value", ["newest", "-1", "1.5", ""])
def test_a_malformed_choice_lists_the_accepted_forms(work, value, capsys):
    assert (
        exit_code(
            [
                "sample",
                work["run"],
                "--checkpoint",
                value,
                "--output",
                str(work["root"] / "x.png"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "latest" in err and "best" in err and "step number" in err
