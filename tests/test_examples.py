"""The example scripts run as a user runs them."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", name),
                           *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_mnist_example_trains_on_an_array_file(tmp_path, npz_file):
    out = tmp_path / "run"
    result = run_example("mnist.py", "--data", npz_file, "--epochs", "1",
                         "--batch-size", "16", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "samples" / "epoch_0001.png").is_file()
    assert (out / "generator.keras").is_file()


@pytest.mark.parametrize("name", ["mnist.py", "celeba.py"])
def test_examples_offline_fail_fast_saying_how_to_supply_data(tmp_path, name):
    result = run_example(name, "--data-dir", str(tmp_path / "tfds"),
                         "--output-dir", str(tmp_path / "run"))
    assert result.returncode != 0
    assert "--data" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
