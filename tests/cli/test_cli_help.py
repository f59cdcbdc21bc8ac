"""A command that explains itself: help with meanings and defaults, fast
checks before TensorFlow, a dry run that fails where the run would, a quiet
start."""

import argparse
import dataclasses
import os
import subprocess
import sys

import pytest

from keras_dcgan.cli import build_parser, main
from keras_dcgan.cli.quiet import has_nvidia_device, is_noise
from keras_dcgan.cli.train_flags import CONFIG_FLAGS, GROUPS, UNSET
from keras_dcgan.config import DCGANConfig, field_help

SUBCOMMANDS = [
    "train",
    "sample",
    "export",
    "interpolate",
    "arithmetic",
    "nearest",
    "evaluate",
    "train-classifier",
]


def subparser(name):
    parser = build_parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices[name]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_shows_the_default_of_every_flag_that_has_one(name, capsys):
    parser = subparser(name)
    with pytest.raises(SystemExit) as exit_info:
        # train --help shows the common flags; --help-all every one.
        parser.parse_args(["--help-all" if name == "train" else "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    defaults = {f.name: f.default for f in dataclasses.fields(DCGANConfig)}
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            if not hasattr(action, "full_help"):
                continue
        shown = getattr(action, "full_help", action.help)
        assert shown and shown != action.dest, action.dest
        default = defaults.get(action.dest) if name == "train" else action.default
        if name == "train" and action.dest in UNSET and not default:
            default = UNSET[action.dest]  # in words: "off", not 0.0
        if (
            default is not None
            and default is not False
            and action.dest not in ("help", "help_all", "image_size", "channels")
        ):
            assert f"(default: {default})" in text, (name, action.dest)


def test_every_config_flag_has_its_meaning_and_a_group():
    helps = field_help()
    fields = {field for field, _, _ in CONFIG_FLAGS.values()}
    assert fields == {f for group in GROUPS.values() for f in group}
    for field in fields:
        assert len(helps[field]) > 15, field  # a sentence, not the name


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    out = capsys.readouterr().out
    assert out.startswith("keras-dcgan 0.") and "TensorFlow 2." in out


BAD_FLAGS = [
    ["--image-size", "30"],
    ["--batch-size", "0"],
    ["--learning-rate", "nan"],
    ["--precision", "float8"],
    ["--architecture", "resnet"],
    ["--seed", "-1"],
    ["--ema", "1"],
]


@pytest.mark.parametrize("flags", BAD_FLAGS)
def test_a_bad_flag_is_refused_before_tensorflow_is_imported(tmp_path, flags):
    code = (
        "import sys; from keras_dcgan.cli import main\n"
        "try:\n"
        f"    rc = main(['train', '--output-dir', {str(tmp_path / 'r')!r}, "
        f"*{flags!r}])\n"
        "except SystemExit as e:  # argparse's usage errors\n"
        "    rc = e.code\n"
        "print('tf' if 'tensorflow' in sys.modules else 'no tf')\n"
        "sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout.strip() == "no tf"
    assert result.stderr.startswith("keras-dcgan: error:")
    assert not (tmp_path / "r").exists()


def test_a_dry_run_fails_where_the_run_would(tmp_path, npz_file, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("not a run")
    flags = [
        "train",
        "--data",
        npz_file,
        "--output-dir",
        str(run),
        "--latent-dim",
        "8",
        "--generator-width",
        "8",
        "--discriminator-width",
        "8",
        "--batch-size",
        "16",
    ]
    assert main(flags + ["--dry-run"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert os.listdir(run) == ["notes.txt"]


@pytest.mark.skipif(has_nvidia_device(), reason="CUDA lines are news there")
def test_a_cpu_machine_starts_without_cuda_error_lines(tmp_path, npz_file):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_dcgan",
            "train",
            "--data",
            npz_file,
            "--output-dir",
            str(tmp_path / "run"),
            "--dry-run",
            "--latent-dim",
            "8",
            "--batch-size",
            "16",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "cuInit" not in result.stderr and "E0000" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("Device: CPU"), result.stderr[:500]


def test_only_known_start_up_lines_are_dropped():
    cuda = "E0000 00:00:1 cuda_platform.cc:52] failed call to cuInit: (303)"
    assert is_noise(cuda, gpu=False) and not is_noise(cuda, gpu=True)
    assert is_noise("I0000 port.cc:153] oneDNN custom operations are on.", True)
    assert not is_noise("ImportError: libcudnn.so.9: cannot open", gpu=False)
