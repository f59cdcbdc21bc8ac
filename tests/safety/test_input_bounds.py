"""Hostile arguments and files, end to end on a tiny trained run.

Each dangerous example is refused with exit code 2 and one line, before
any work, nothing written. The ones that once allocated without bound run
in a subprocess under a memory limit, so a regression fails the test
instead of taking the machine down.
"""

import json
import os
import re
import resource
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import TINY_FLAGS, make_images, snapshot
from PIL import Image

from keras_dcgan.cli import main
from keras_dcgan.quality.classifier import build_classifier
from keras_dcgan.runs import save_model

# With two threads per pool and two malloc arenas (the thread stacks and
# arenas of a many-core machine would take address space of their own), a
# tiny run's sample, evaluate and train work in 2 GiB of address space
# (measured); 4 GiB leaves a margin and still stops the allocations these
# arguments once made (6 to 60 GiB).
MEMORY_LIMIT = 4 * 2**30
FEW_THREADS = {
    "TF_NUM_INTEROP_THREADS": "2",
    "TF_NUM_INTRAOP_THREADS": "2",
    "OMP_NUM_THREADS": "2",
    "MALLOC_ARENA_MAX": "2",
}
# What TensorFlow's C++ runtime prints on import, whatever
# TF_CPP_MIN_LOG_LEVEL says; not the command's own output.
NATIVE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::"
    r"|[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] "
    r"|To enable the following instructions)"
)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A run trained for 2 steps, its data, a classifier and latents."""
    root = tmp_path_factory.mktemp("bounds")
    np.savez(root / "x.npz", x=make_images(64))
    np.savez(root / "labelled.npz", x=make_images(64), y=np.arange(64) % 2)
    assert (
        main(
            [
                "train",
                "--data",
                str(root / "x.npz"),
                "--output-dir",
                str(root / "run"),
                "--steps",
                "2",
                "--seed",
                "0",
                *TINY_FLAGS,
            ]
        )
        == 0
    )
    save_model(build_classifier(28, 1, 2), str(root / "clf.keras"))
    np.save(root / "z.npy", np.zeros((9, 8), np.float32))
    return root


def run_limited(argv, cwd):
    """`keras-dcgan ARGV` under MEMORY_LIMIT: (exit code, own stderr lines)."""

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    result = subprocess.run(
        [sys.executable, "-m", "keras_dcgan", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        preexec_fn=limit_memory,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **FEW_THREADS),
    )
    return result.returncode, [
        line for line in result.stderr.splitlines() if not NATIVE_LOG.match(line)
    ]


def assert_one_line_error(code, lines):
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("keras-dcgan: error:"), lines
    assert "Traceback" not in lines[0]


GIANT = "1000000000"
DANGEROUS = {
    "export_max_batch_above_int32": [
        "export",
        "run",
        "--output-dir",
        "out",
        "--max-batch",
        str(2**31),
    ],
    "sample_num": ["sample", "run", "--num", GIANT, "--output", "out.npz"],
    "sample_seed": ["sample", "run", "--seed", "-1", "--output", "out.png"],
    "nearest_num": [
        "nearest",
        "run",
        "--data",
        "x.npz",
        "--num",
        GIANT,
        "--output",
        "out.png",
    ],
    "interpolate_rows_steps": [
        "interpolate",
        "run",
        "--rows",
        "100000",
        "--steps",
        "100000",
        "--output",
        "out.png",
    ],
    "interpolate_grid": [
        "interpolate",
        "run",
        "--rows",
        "100",
        "--steps",
        "100",
        "--output",
        "out.png",
    ],
    "interpolate_seed": [
        "interpolate",
        "run",
        "--seed",
        str(2**31),
        "--output",
        "out.png",
    ],
    "evaluate_num": [
        "evaluate",
        "run",
        "--data",
        "x.npz",
        "--features",
        "classifier:clf.keras",
        "--num",
        GIANT,
    ],
    "evaluate_batch_size": [
        "evaluate",
        "run",
        "--data",
        "x.npz",
        "--features",
        "classifier:clf.keras",
        "--num",
        "100",
        "--batch-size",
        GIANT,
    ],
    "evaluate_seed": [
        "evaluate",
        "run",
        "--data",
        "x.npz",
        "--features",
        "classifier:clf.keras",
        "--num",
        "100",
        "--seed",
        "-1",
    ],
    "train_eval_num": [
        "train",
        "--data",
        "x.npz",
        "--output-dir",
        "out",
        "--steps",
        "2",
        "--eval-num",
        GIANT,
        *TINY_FLAGS,
    ],
    "classifier_epochs_huge": [
        "train-classifier",
        "--data",
        "labelled.npz",
        "--output",
        "out.keras",
        "--epochs",
        str(10**11),
    ],
    "classifier_epochs_negative": [
        "train-classifier",
        "--data",
        "labelled.npz",
        "--output",
        "out.keras",
        "--epochs",
        "-1",
    ],
    "classifier_image_size": [
        "train-classifier",
        "--data",
        "labelled.npz",
        "--output",
        "out.keras",
        "--image-size",
        "-5",
    ],
    "classifier_channels": [
        "train-classifier",
        "--data",
        "labelled.npz",
        "--output",
        "out.keras",
        "--channels",
        "2",
    ],
    "classifier_seed": [
        "train-classifier",
        "--data",
        "labelled.npz",
        "--output",
        "out.keras",
        "--seed",
        "-1",
    ],
}
ARITHMETIC = [
    "arithmetic",
    "run",
    "--latents",
    "z.npy",
    "--plus",
    "0,1,2",
    "--minus",
    "3,4,5",
    "--output",
    "out.png",
]
for flags in (
    ["--variations", "0"],
    ["--variations", "100000000"],
    ["--noise", "nan"],
    ["--noise", "inf"],
    ["--noise", "-1"],
    ["--noise", "1e308"],
    ["--seed", "-1"],
):
    DANGEROUS[f"arithmetic{flags[0]}_{flags[1]}".replace("-", "_")] = ARITHMETIC + flags


DANGEROUS["arithmetic_minus_negative_index"] = ARITHMETIC + ["--minus", "-1"]
TRAIN = ["train", "--data", "x.npz", "--output-dir", "out", "--steps", "2"]
for crop in ("3000000000", "1000000000000000000"):
    DANGEROUS[f"train_center_crop_{crop}"] = TRAIN + [
        *TINY_FLAGS,
        "--center-crop",
        crop,
    ]
# Every train flag at its maximum at once: networks of terabytes. They
# crashed in TensorFlow (out of memory); refused up front from the flags.
EVERY_MAXIMUM = [
    *("--image-size", "128", "--channels", "3", "--latent-dim", "4096"),
    *("--generator-width", "1024", "--discriminator-width", "1024"),
    *("--batch-size", "8192", "--epochs", "1000000", "--steps", "1000000000"),
    *("--max-checkpoints", "1000", "--log-every", "1000000000"),
    *("--num-samples", "1024", "--eval-num", "100000", "--seed", "2147483647"),
    *("--max-image-pixels", "4294967296", "--center-crop", "65536"),
    *("--checkpoint-minutes", "1000000", "--checkpoint-every", "1000000000"),
    *("--collapse-patience", "1000000000", "--learning-rate", "1e12"),
]
DANGEROUS["train_every_flag_at_its_maximum"] = TRAIN[:5] + EVERY_MAXIMUM
DANGEROUS["train_every_flag_at_its_maximum_dry_run"] = (
    TRAIN[:5] + EVERY_MAXIMUM + ["--dry-run"]
)


@pytest.mark.parametrize("argv", list(DANGEROUS.values()), ids=list(DANGEROUS))
def test_dangerous_arguments_fail_in_one_line_under_a_memory_limit(work, argv):
    before = sorted(os.listdir(work))
    assert_one_line_error(*run_limited(argv, cwd=work))
    assert sorted(os.listdir(work)) == before  # nothing written


def copy_run(work, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(work / "run", run)
    return run


@pytest.mark.parametrize(
    "content",
    [b"[1, 2]", b"{", b"null", b"\xff\xfe\x00", b"[" * 2_000_000],
    ids=["list", "cut", "null", "binary", "huge_nested"],
)
@pytest.mark.parametrize("command", ["sample", "resume"])
def test_a_garbage_config_json_fails_in_one_line(
    work, tmp_path, capsys, content, command
):
    run = copy_run(work, tmp_path)
    (run / "config.json").write_bytes(content)
    listing = sorted(os.listdir(run))
    argv = (
        ["sample", str(run), "--output", str(tmp_path / "s.png")]
        if command == "sample"
        else [
            "train",
            "--data",
            str(work / "x.npz"),
            "--output-dir",
            str(run),
            "--resume",
            "--steps",
            "3",
        ]
    )
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert_one_line_error(2, lines)
    assert f"{run}{os.sep}config.json" in lines[0]
    assert not (tmp_path / "s.png").exists()
    assert sorted(os.listdir(run)) == listing


def dense_model():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])


@pytest.mark.parametrize("model", ["discriminator", "dense"])
def test_a_model_that_is_not_the_generator_is_refused(work, tmp_path, capsys, model):
    run = copy_run(work, tmp_path)
    if model == "discriminator":
        shutil.copy(run / "discriminator.keras", run / "generator.keras")
    else:
        dense_model().save(run / "generator.keras")
    assert main(["sample", str(run), "--output", str(tmp_path / "s.png")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert_one_line_error(2, lines)
    assert "is not this run's generator" in lines[0]
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_generator_falls_back_to_the_checkpoint(
    work, tmp_path, caplog, damage
):
    run = copy_run(work, tmp_path)
    intact = tmp_path / "intact.npz"
    assert (
        main(["sample", str(run), "--num", "4", "--seed", "1", "--output", str(intact)])
        == 0
    )
    good = (run / "generator.keras").read_bytes()
    (run / "generator.keras").write_bytes(
        good[: len(good) // 2]
        if damage == "truncated"
        else np.random.default_rng(0).bytes(len(good))
    )
    out = tmp_path / "fallback.npz"
    assert (
        main(["sample", str(run), "--num", "4", "--seed", "1", "--output", str(out)])
        == 0
    )
    assert "generator.keras is damaged" in caplog.text
    assert "using the newest checkpoint" in caplog.text
    # The checkpoint of the last step holds the generator.keras weights.
    np.testing.assert_array_equal(np.load(out)["x"], np.load(intact)["x"])


def test_train_classifier_checks_its_output_before_training(work, caplog, capsys):
    missing = work / "no" / "such" / "clf.keras"
    assert (
        main(
            [
                "train-classifier",
                "--data",
                str(work / "labelled.npz"),
                "--output",
                str(missing),
                "--epochs",
                "1",
            ]
        )
        == 2
    )
    lines = capsys.readouterr().err.splitlines()
    assert_one_line_error(2, lines)
    assert "does not exist" in lines[0]
    assert "Labelled images" not in caplog.text  # refused before any work


CONFIG_VALUES = {
    "center_crop_3e9": ("center_crop", 3 * 10**9),
    "center_crop_1e18": ("center_crop", 10**18),
    "eval_features_int": ("eval_features", 123),
    "image_size_float": ("image_size", 28.0),
    "latent_dim_float": ("latent_dim", 8.0),
    "architecture_int": ("architecture", 1),
    "seed_bool": ("seed", True),
}


@pytest.mark.parametrize("field,value", CONFIG_VALUES.values(), ids=list(CONFIG_VALUES))
@pytest.mark.parametrize("command", ["sample", "resume"])
def test_a_config_json_value_that_would_break_later_fails_in_one_line(
    work, tmp_path, capsys, field, value, command
):
    run = copy_run(work, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config[field] = value
    (run / "config.json").write_text(json.dumps(config))
    listing = snapshot(run)
    argv = (
        ["sample", str(run), "--output", str(tmp_path / "s.png")]
        if command == "sample"
        else ["train", "--data", str(work / "x.npz"), "--output-dir", str(run)]
        + ["--resume", "--steps", "3"]
    )
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert_one_line_error(2, lines)
    assert f"{run}{os.sep}config.json" in lines[0] and field in lines[0]
    assert not (tmp_path / "s.png").exists()
    assert snapshot(run) == listing  # nothing written, nothing deleted


def test_names_that_are_not_utf8_are_skipped_by_every_reader(work, tmp_path, caplog):
    # train, nearest and evaluate stopped with a ValueError of tf.data.
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, image in enumerate(make_images(32)):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    for name in (b"caf\xe9.png", b"\xff\xfe.png"):
        with open(os.path.join(os.fsencode(folder), name), "wb") as f:
            f.write((folder / "00.png").read_bytes())
    commands = {
        "train": ["train", "--data", str(folder), "--output-dir"]
        + [str(tmp_path / "run"), "--steps", "1", *TINY_FLAGS],
        "nearest": ["nearest", str(work / "run"), "--data", str(folder)]
        + ["--num", "2", "--output", str(tmp_path / "n.png")],
        "evaluate": ["evaluate", str(work / "run"), "--data", str(folder)]
        + ["--features", f"classifier:{work / 'clf.keras'}", "--num", "16"],
    }
    for command, argv in commands.items():
        caplog.clear()
        assert main(argv) == 0, command
        assert "skipped 2 of 34" in caplog.text, command
        assert "caf\\xe9.png: its name is not valid UTF-8" in caplog.text, command
