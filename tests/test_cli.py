"""The `keras-dcgan` command, end to end and on bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_dcgan.cli import main

TINY_FLAGS = ["--latent-dim", "8", "--generator-width", "8",
              "--discriminator-width", "8", "--batch-size", "16",
              "--num-samples", "16", "--verbose", "0"]


def run_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "keras_dcgan", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_train_then_sample_end_to_end(tmp_path, npz_file):
    run = str(tmp_path / "run")
    result = run_cli("train", "--data", npz_file, "--output-dir", run,
                     "--steps", "6", "--seed", "1", *TINY_FLAGS)
    assert result.returncode == 0, result.stderr
    config = json.load(open(os.path.join(run, "config.json")))
    assert (config["image_size"], config["channels"], config["steps"]) == (28, 1, 6)
    assert os.path.isfile(os.path.join(run, "generator.keras"))

    result = run_cli("sample", run, "--num", "5", "--output",
                     str(tmp_path / "s.npz"), "--seed", "3")
    assert result.returncode == 0, result.stderr
    x = np.load(tmp_path / "s.npz")["x"]
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.uint8
    assert x.max() > x.min()

    result = run_cli("sample", run, "--num", "9", "--output",
                     str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "grid.png").size == (92, 92)  # 3x3 + padding

    result = run_cli("train", "--data", npz_file, "--output-dir", run,
                     "--resume", "--steps", "8", "--verbose", "0")
    assert result.returncode == 0, result.stderr
    assert "Resumed from" in result.stderr and "at step 6" in result.stderr
    assert os.path.exists(os.path.join(run, "checkpoints", "ckpt-8.index"))


def test_dry_run_writes_nothing(tmp_path, npz_file, caplog):
    run = tmp_path / "run"
    assert main(["train", "--data", npz_file, "--output-dir", str(run),
                 "--dry-run", *TINY_FLAGS]) == 0
    assert not run.exists()
    assert "Nothing written" in caplog.text


@pytest.mark.parametrize("flags,message", [
    (["--image-size", "48"], "image_size=48 is not supported"),
    (["--batch-size", "0"], "--batch-size"),
    (["--label-smoothing", "0.7"], "--label-smoothing"),
    (["--data", "/no/such.npz"], "no such file"),
])
def test_bad_arguments_exit_2_with_the_fix(tmp_path, npz_file, capsys, flags,
                                           message):
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
    assert main(["train", "--data", npz_file, "--output-dir", str(run),
                 *TINY_FLAGS]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "config.json").read_text() == "{}"


def test_resume_refuses_changed_architecture_flags(tmp_path, npz_file, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--data", npz_file, "--output-dir", run,
                 "--steps", "1", *TINY_FLAGS]) == 0
    assert main(["train", "--data", npz_file, "--output-dir", run, "--resume",
                 "--image-size", "32", "--steps", "2"]) == 2
    assert "image_size: run has 28, asked 32" in capsys.readouterr().err


def test_sample_rejects_unknown_formats_and_missing_runs(tmp_path, capsys):
    assert main(["sample", str(tmp_path), "--output", "x.jpg"]) == 2
    assert ".png" in capsys.readouterr().err
    assert main(["sample", str(tmp_path), "--output", "x.png"]) == 2
    assert "not a keras_dcgan run" in capsys.readouterr().err
