"""The `keras-dcgan` command, end to end and on bad input."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from helpers import SignalAtStep, history_steps, tiny_flags, train_cli
from PIL import Image

from keras_dcgan.cli import main
from keras_dcgan.errors import TrainingInterrupted
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.runs import load_generator
from keras_dcgan.runs.checkpoints import restore_models
from keras_dcgan.training import train
from keras_dcgan.visualize import image_grid

TINY_FLAGS = tiny_flags(num_samples=16, verbose=0)


def console_script():
    """The installed `keras-dcgan` executable, beside this Python or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "keras-dcgan")
    found = beside if os.path.isfile(beside) else shutil.which("keras-dcgan")
    assert found, "keras-dcgan is not installed: pip install -e '.[test]'"
    return found


def test_console_script_trains_then_samples(tmp_path, npz_file):
    # The one test through the installed entry point; the others call
    # main() in-process (a process each would import TensorFlow again).
    run, out = str(tmp_path / "run"), str(tmp_path / "s.npz")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for args in (
        ["train", "--data", npz_file, "--output-dir", run, "--steps", "2", *TINY_FLAGS],
        ["sample", run, "--num", "3", "--output", out],
    ):
        result = subprocess.run(
            [console_script(), *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    assert np.load(out)["x"].shape == (3, 28, 28, 1)


def test_train_sample_resume_end_to_end(tmp_path, npz_file, caplog):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "6", "--seed", "1", *TINY_FLAGS) == 0
    with open(os.path.join(run, "config.json")) as f:
        config = json.load(f)
    assert (config["image_size"], config["channels"], config["steps"]) == (28, 1, 6)
    assert os.path.isfile(os.path.join(run, "generator.keras"))

    assert (
        main(
            [
                "sample",
                run,
                "--num",
                "9",
                "--output",
                str(tmp_path / "s.npz"),
                "--seed",
                "3",
            ]
        )
        == 0
    )
    x = np.load(tmp_path / "s.npz")["x"]
    assert x.shape == (9, 28, 28, 1) and x.dtype == np.uint8
    assert x.max() > x.min()
    generator = load_generator(run)
    np.testing.assert_array_equal(x, generate(generator, sample_latents(9, 8, 3)))

    assert (
        main(
            [
                "sample",
                run,
                "--num",
                "9",
                "--output",
                str(tmp_path / "grid.png"),
                "--seed",
                "3",
            ]
        )
        == 0
    )
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (92, 92)  # 3x3 + padding, gray
    np.testing.assert_array_equal(grid, image_grid(x)[..., 0])

    caplog.clear()
    assert train_cli(npz_file, run, "--resume", "--steps", "8", "--verbose", "0") == 0
    assert "Resumed from" in caplog.text and "at step 6" in caplog.text
    assert os.path.exists(os.path.join(run, "checkpoints", "ckpt-8.index"))
    assert history_steps(run) == list(range(1, 9))


def test_sample_of_an_interrupted_run_uses_its_newest_checkpoint(
    tmp_path, tiny_config, images
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=50, checkpoint_every=2)
    with pytest.raises(TrainingInterrupted):
        train(config, images, run, callbacks=[SignalAtStep(3)], verbose=0)
    assert not os.path.exists(os.path.join(run, "generator.keras"))
    newest = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
    assert newest.endswith("ckpt-3")  # saved on the signal, after ckpt-2

    out = str(tmp_path / "s.npz")
    assert main(["sample", run, "--num", "6", "--seed", "3", "--output", out]) == 0
    generator, _ = restore_models(run)
    np.testing.assert_array_equal(
        np.load(out)["x"], generate(generator, sample_latents(6, 8, 3))
    )


def test_dry_run_writes_nothing(tmp_path, npz_file, caplog):
    run = tmp_path / "run"
    assert train_cli(npz_file, str(run), "--dry-run", *TINY_FLAGS) == 0
    assert not run.exists()
    assert "Nothing written" in caplog.text


@pytest.mark.parametrize(
    "flags,message",
    [
        # The CLI names its flag (it printed the field: image_size=48 ...).
        (["--image-size", "48"], "error: --image-size 48 is not supported"),
        (["--batch-size", "0"], "--batch-size"),
        (["--label-smoothing", "0.7"], "--label-smoothing"),
        (["--data", "/no/such.npz"], "no such file"),
    ],
)
def test_bad_arguments_exit_2_with_the_fix(tmp_path, npz_file, capsys, flags, message):
    args = ["train", "--output-dir", str(tmp_path / "run")]
    if "--data" not in flags:
        args += ["--data", npz_file]
    assert main(args + flags) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_unknown_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--output-dir", "x", "--learning_rate", "1"])
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_existing_run_is_not_overwritten_by_accident(tmp_path, npz_file, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    assert train_cli(npz_file, str(run), *TINY_FLAGS) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "config.json").read_text() == "{}"


def test_resume_refuses_changed_architecture_flags(tmp_path, npz_file, capsys):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "1", *TINY_FLAGS) == 0
    assert (
        train_cli(npz_file, run, "--resume", "--image-size", "32", "--steps", "2") == 2
    )
    assert "image_size: run has 28, asked 32" in capsys.readouterr().err


def test_sample_rejects_unknown_formats_and_missing_runs(tmp_path, capsys):
    assert main(["sample", str(tmp_path), "--output", "x.jpg"]) == 2
    assert ".png" in capsys.readouterr().err
    assert main(["sample", str(tmp_path), "--output", "x.png"]) == 2
    assert "not a keras_dcgan run" in capsys.readouterr().err
