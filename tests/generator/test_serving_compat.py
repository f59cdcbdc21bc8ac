"""Opt-in (`pytest -m serving tests/generator/test_serving_compat.py`): the export in
the TensorFlow that TF Serving runs.

TF Serving's releases trail TensorFlow's. This test installs the TensorFlow
of the newest TF Serving release in a virtual environment of its own (from
PyPI, a large download made once: the environment is kept in
~/.cache/keras_dcgan_serving_venv and reused), loads an export written by
this project's TensorFlow there with `tf.saved_model.load`, and checks that
both signatures give what the Keras generator gives in this process. An
older TensorFlow that lacks an op of the export fails the test with its own
message ("Op type not registered ..."). Linux and macOS layouts only.
Where PyPI cannot be reached, KERAS_DCGAN_SERVING_PYTHON names a Python
that has that TensorFlow already.
"""

import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import TINY
from serving_check import MAX_BATCH, check_served, serve_in

from keras_dcgan import build_generator
from keras_dcgan.atomic import write_text
from keras_dcgan.config import DCGANConfig
from keras_dcgan.generator import export, latent

pytestmark = pytest.mark.serving

# TF Serving 2.20.0, its newest release (tensorflow/serving:2.20.0), is built
# on TensorFlow 2.20. Raise both together when TF Serving releases again.
SERVING_TENSORFLOW = "2.20"
VENV = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "keras_dcgan_serving_venv",
    f"tensorflow-{SERVING_TENSORFLOW}",
)
# Written last: a folder without it is a half-made environment, made again.
STAMP = os.path.join(VENV, "keras_dcgan_installed.txt")


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=3600
    )
    if result.returncode:
        pytest.fail(
            f"{what} failed (exit {result.returncode}): "
            f"{' '.join(command)}\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    return result.stdout.strip()


def serving_python() -> str:
    """The interpreter with tensorflow==SERVING_TENSORFLOW.*: the one named
    by $KERAS_DCGAN_SERVING_PYTHON (a machine without PyPI), else the venv's,
    made (and TensorFlow downloaded) only when it is missing."""
    if os.environ.get("KERAS_DCGAN_SERVING_PYTHON"):
        return os.environ["KERAS_DCGAN_SERVING_PYTHON"]
    python = os.path.join(VENV, "bin", "python")
    if os.path.isfile(STAMP):
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    _run([sys.executable, "-m", "venv", VENV], "Making the venv")
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"tensorflow=={SERVING_TENSORFLOW}.*",
        ],
        f"Installing tensorflow=={SERVING_TENSORFLOW}.* from PyPI (it needs "
        "PyPI; offline, set KERAS_DCGAN_SERVING_PYTHON to a Python that has "
        "it)",
    )
    version = "import tensorflow as tf; print(tf.__version__)"
    write_text(STAMP, _run([python, "-c", version], "Importing TensorFlow"))
    return python


def serving_env() -> dict:
    # Nothing of this project may leak in: TF Serving has only the SavedModel.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    return dict(env, PYTHONNOUSERSITE="1")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny generator and its SavedModel, written by this TensorFlow."""
    keras.utils.set_random_seed(0)
    generator = build_generator(DCGANConfig(**TINY))
    # Moving statistics away from their initial (0, 1), as after training,
    # so that BatchNorm's inference arithmetic counts in the outputs.
    rng = np.random.default_rng(0)
    for weight in generator.weights:
        if "moving_mean" in weight.path:
            weight.assign(rng.uniform(-0.5, 0.5, weight.shape))
        elif "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 1.5, weight.shape))
    # An untrained generator draws a near-uniform grey (a handful of pixel
    # values); a larger output kernel spreads its images over 0..255.
    output = [w for w in generator.weights if w.path.endswith("kernel")][-1]
    output.assign(output * 100.0)
    base = tmp_path_factory.mktemp("serving")
    return generator, export.export_saved_model(
        generator, str(base), max_batch=MAX_BATCH
    )


def test_export_serves_identically_in_the_tensorflow_of_tf_serving(exported, tmp_path):
    generator, path = exported
    python = serving_python()
    z = latent.sample_latents(5, TINY["latent_dim"], seed=0)
    out, arrays = serve_in(python, path, z, str(tmp_path), env=serving_env())
    assert out["tensorflow"].startswith(SERVING_TENSORFLOW + "."), (
        f"{python} has TensorFlow {out['tensorflow']}, not {SERVING_TENSORFLOW}.x"
    )
    # TensorFlow 2.21 serves exactly the floats of eager Keras (measured on
    # this export); any difference in the older version is worth seeing.
    check_served(generator, z, out, arrays, float_atol=0.0)
