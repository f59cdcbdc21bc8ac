"""One pre-flight for the real run and `--dry-run`
(`keras_dcgan.training.preflight`): for every broken setup, both refuse
with the same first error, exit code 2, and nothing of the user's is
changed."""

import re

import numpy as np
import pytest
from helpers import exit_code, make_images, snapshot, tiny_flags, train_cli

LOCK = ".keras_dcgan.lock"  # rewritten by any writer that takes it


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """`data` (64 blobs), `other` (other 64 blobs), `few` (8 blobs: fewer
    than a batch), and `run`: a run of 2 steps trained on `data`."""
    root = tmp_path_factory.mktemp("preflight")
    paths = {}
    for name, images in (
        ("data", make_images(64)),
        ("other", make_images(64, seed=1)),
        ("few", make_images(8)),
    ):
        paths[name] = str(root / f"{name}.npz")
        np.savez(paths[name], x=images)
    paths["run"] = str(root / "run")
    assert train_cli(paths["data"], paths["run"], *tiny_flags(), "--steps", "2") == 0
    paths["root"] = root
    return paths


def _not_empty(paths, folder):
    (folder / "run").mkdir()
    (folder / "run" / "notes.txt").write_text("not a run")
    return paths["data"], str(folder / "run"), []


def _resume_missing(paths, folder):
    return paths["data"], str(folder / "missing"), ["--resume"]


def _data_changed(paths, folder):
    return paths["other"], paths["run"], ["--resume"]


def _memory_too_large(paths, folder):
    flags = ["--generator-width", "1024", "--batch-size", "8192"]
    return paths["data"], str(folder / "run"), flags


def _features_missing(paths, folder):
    flags = [
        "--eval-every",
        "2",
        "--eval-features",
        f"classifier:{folder / 'none.keras'}",
    ]
    return paths["data"], str(folder / "run"), flags


def _fewer_images_than_a_batch(paths, folder):
    return paths["few"], str(folder / "run"), []


def _features_missing_and_data_changed(paths, folder):
    flags = [
        "--eval-every",
        "2",
        "--eval-features",
        f"classifier:{folder / 'none.keras'}",
    ]
    return paths["other"], paths["run"], ["--resume", *flags]


BROKEN = [
    _not_empty,
    _resume_missing,
    _data_changed,
    _memory_too_large,
    _features_missing,
    _fewer_images_than_a_batch,
    _features_missing_and_data_changed,
]


def _first_error(capsys) -> str:
    """The first error line, the machine's free memory in it masked: it is
    read at each call and moves with whatever else the machine runs."""
    lines = capsys.readouterr().err.splitlines()
    errors = [line for line in lines if line.startswith("keras-dcgan: error:")]
    assert errors, lines[-5:]
    return re.sub(r"the [0-9.,]+ GiB", "the N GiB", errors[0])


def _files(root):
    return {k: v for k, v in snapshot(root).items() if not k.endswith(LOCK)}


@pytest.mark.parametrize("broken", BROKEN, ids=lambda f: f.__name__.strip("_"))
def test_dry_run_and_real_run_give_the_same_first_error(
    setup, tmp_path, capsys, broken
):
    data, output_dir, flags = broken(setup, tmp_path)
    argv = ["train", "--data", data, "--output-dir", output_dir]
    argv += [*tiny_flags(), *flags]
    before = _files(setup["root"]), _files(tmp_path)
    capsys.readouterr()
    assert exit_code([*argv, "--dry-run"]) == 2
    dry = _first_error(capsys)
    assert exit_code(argv) == 2
    real = _first_error(capsys)
    assert dry == real
    assert (_files(setup["root"]), _files(tmp_path)) == before
