import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_dcgan  # noqa: E402,F401  (first: it picks TensorFlow's CPU kernels)

# Two logical CPUs, so that tf.distribute tests have two replicas. Must
# happen before TensorFlow initialises its devices; ops still go to the
# first one unless a strategy says otherwise.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

from helpers import (  # noqa: E402
    TINY,
    deterministic_ops,
    make_images,
    snapshot,
)

from keras_dcgan.config import DCGANConfig  # noqa: E402


@pytest.fixture
def tiny_config():
    """A model small enough to train in seconds."""
    return DCGANConfig(**TINY)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny trained run (2 steps, seed 0) shared by the whole session.

    Tests only read it; a test that changes a run trains its own. The
    session ends by checking that nothing in it changed.
    """
    from keras_dcgan.data import from_array
    from keras_dcgan.training import train

    path = str(tmp_path_factory.mktemp("tiny") / "run")
    train(
        DCGANConfig(**TINY, steps=2, seed=0),
        from_array(make_images(64), 28, 1),
        path,
        verbose=0,
    )
    before = snapshot(path)
    yield path
    assert snapshot(path) == before, "a test changed the shared tiny run"


@pytest.fixture
def npz_file(tmp_path):
    path = tmp_path / "blobs.npz"
    np.savez(path, x=make_images(64))
    return str(path)


@pytest.fixture
def images():
    """64 tiny blob images: 4 batches of 16."""
    from keras_dcgan.data import from_array

    return from_array(make_images(64), 28, 1)


@pytest.fixture
def op_determinism():
    """Deterministic ops for one test (`deterministic_ops`)."""
    with deterministic_ops():
        yield


@pytest.fixture(autouse=True)
def logging_as_found():
    """Puts the package's logging set-up back after each test.

    The README's blocks call `keras_dcgan.enable_logging()` and the CLI
    calls `logging.basicConfig()` in the test process; left in place, the
    package's lines would skip the root logger in every later test of that
    worker (xdist runs files in whatever order the workers take them).
    pytest's own capture handlers on the root logger are left to pytest.
    """
    import logging

    package, root = logging.getLogger("keras_dcgan"), logging.getLogger()
    saved = list(package.handlers), package.propagate, package.level
    before = list(root.handlers)
    yield
    package.handlers[:], package.propagate, package.level = saved
    for handler in root.handlers[:]:
        if handler not in before and type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture(scope="session", autouse=True)
def repository_left_as_found():
    """Fails the session if a test wrote into the repository's top folder
    (a fuzzed relative path once made a SavedModel there)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    caches = {".pytest_cache", ".hypothesis", ".ruff_cache", ".import_linter_cache"}
    before = set(os.listdir(root))
    yield
    new = set(os.listdir(root)) - before - caches
    assert not new, f"tests wrote into the repository: {sorted(map(repr, new))}"
