"""The examples run as a user runs them: as scripts and as notebooks."""

import importlib.util
import json
import os
import subprocess
import sys

import nbclient
import nbformat
import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
TINY_MODEL = ["--width", "8", "--latent-dim", "8"]


def run_example(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def make_notebooks():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", os.path.join(EXAMPLES, "make_notebooks.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def celeba_folder(tmp_path):
    """40 JPEGs of 178x218 (CelebA's aligned size) in its layout."""
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(40):
        pixels = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i + 1:06d}.jpg")
    return str(tmp_path / "celeba")


def tiny_args(name, out, npz_file, celeba_folder):
    """Settings that run each example in seconds."""
    common = ["--output-dir", str(out), *TINY_MODEL]
    return {
        "mnist.py": [
            "--data",
            npz_file,
            "--epochs",
            "1",
            "--batch-size",
            "16",
            *common,
        ],
        "celeba.py": [
            "--data",
            celeba_folder,
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "8",
            *common,
        ],
        "frozen_discriminator_traps.py": [
            "--steps",
            "3",
            "--batch-size",
            "16",
            *common,
        ],
    }[name]


def test_mnist_example_trains_both_networks_and_writes_grids(tmp_path, npz_file):
    out = tmp_path / "run"
    result = run_example("mnist.py", *tiny_args("mnist.py", out, npz_file, None))
    assert result.returncode == 0, result.stderr
    assert "D: 7 of 7 weights changed" in result.stdout
    with Image.open(out / "epoch_0001.png") as grid:
        assert grid.size == (8 * 30 + 2, 8 * 30 + 2)  # 64 digits of 28 px


def test_celeba_example_trains_on_a_folder_in_the_celeba_layout(
    tmp_path, celeba_folder
):
    out = tmp_path / "run"
    result = run_example("celeba.py", *tiny_args("celeba.py", out, None, celeba_folder))
    assert result.returncode == 0, result.stderr
    assert f"{celeba_folder}: 40 images" in result.stdout
    with Image.open(out / "epoch_0001.png") as grid:
        assert grid.mode == "RGB" and grid.size == (8 * 66 + 2, 8 * 66 + 2)


@pytest.mark.parametrize(
    "name, args",
    [
        ("mnist.py", ["--data", "missing.npz"]),
        ("celeba.py", []),
        ("celeba.py", ["--data", "empty"]),
    ],
)
def test_examples_offline_fail_fast_saying_how_to_supply_data(tmp_path, name, args):
    (tmp_path / "empty").mkdir()
    args = [str(tmp_path / a) if i else a for i, a in enumerate(args)]
    result = run_example(name, *args, "--output-dir", str(tmp_path / "run"))
    assert result.returncode != 0
    assert "--data" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_traps_script_shows_both_traps_and_the_fix(tmp_path):
    out = tmp_path / "traps"
    result = run_example(
        "frozen_discriminator_traps.py",
        *tiny_args("frozen_discriminator_traps.py", out, None, None),
    )
    assert result.returncode == 0, result.stderr
    with open(out / "traps.json") as f:
        classic, layers, variables = json.load(f)["results"].values()
    # Trap 1: the Keras 2 order leaves D bit-identical, with Keras' warning.
    assert classic["d_weights"] > 0 and classic["d_changed"] == 0
    assert "The model does not have any trainable weights." in (classic["warnings"])
    # Trap 2: with frozen layers, G's step sees D on moving statistics.
    assert layers["g_step_minus_batch"] > 1e-4
    # The fix: every weight of D and G learns; D stays still in G's steps.
    assert variables["d_changed"] == variables["d_weights"]
    assert variables["g_changed"] == variables["g_weights"]
    assert variables["d_moved_in_g_step"] == 0
    assert variables["g_step_minus_batch"] < 1e-5  # G sees D as D trains
    assert (out / "traps.png").is_file()
    assert "does not have any trainable weights" in result.stdout


def test_committed_notebooks_match_their_scripts():
    assert make_notebooks().main(["--check"]) == 0, (
        "run python examples/make_notebooks.py"
    )


@pytest.mark.parametrize(
    "name", ["mnist.py", "celeba.py", "frozen_discriminator_traps.py"]
)
def test_notebooks_execute(tmp_path, npz_file, celeba_folder, name):
    notebook = make_notebooks().to_notebook(os.path.join(EXAMPLES, name))
    out = tmp_path / "run"
    argv = [name, *tiny_args(name, out, npz_file, celeba_folder)]
    # What a reader does to change the settings: sys.argv before the code.
    notebook.cells.insert(
        2, nbformat.v4.new_code_cell(f"import sys\nsys.argv = {argv!r}")
    )
    nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    written = sorted(os.listdir(out))
    assert written == (
        ["traps.json", "traps.png"] if "traps" in name else ["epoch_0001.png"]
    )
