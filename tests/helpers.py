"""What the tests share that is not a fixture: the tiny model, its flags,
generated images, and checks of a run's files. Imported as `helpers`
(tests/ is on the path); fixtures live in conftest.py."""

import contextlib
import csv
import os
import signal
import stat

import keras
import numpy as np
import tensorflow as tf

TINY = dict(
    image_size=28,
    channels=1,
    latent_dim=8,
    generator_width=8,
    discriminator_width=8,
    batch_size=16,
    num_samples=16,
)


def tiny_flags(num_samples=4, verbose=0):
    """`keras-dcgan train` flags of the TINY model (size and channels come
    from the data)."""
    return [
        "--latent-dim",
        "8",
        "--generator-width",
        "8",
        "--discriminator-width",
        "8",
        "--batch-size",
        "16",
        "--num-samples",
        str(num_samples),
        "--verbose",
        str(verbose),
    ]


def train_cli(data, output_dir, *flags):
    """`keras-dcgan train --data DATA --output-dir OUTPUT_DIR FLAGS...`,
    in-process; returns the exit code."""
    from keras_dcgan.cli import main

    return main(["train", "--data", data, "--output-dir", output_dir, *flags])


def make_images(n=64, size=28, channels=None, seed=0):
    """Blobs on a dark background, uint8 [n, size, size(, channels)]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = []
    for _ in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        r = rng.uniform(size * 0.15, size * 0.3)
        images.append(255 * ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r))
    x = np.asarray(images, np.uint8)
    if channels:
        x = np.repeat(x[..., None], channels, axis=-1)
    return x


def real_batch(config, seed=0):
    """A batch of uniform noise images in [-1, 1], as a config expects."""
    shape = (config.batch_size, config.image_size, config.image_size, config.channels)
    return tf.random.stateless_uniform(shape, (seed, 1), -1.0, 1.0)


def checkpoint_tensors(run):
    """{checkpoint step: {float tensor name: array}} of every checkpoint."""
    folder = os.path.join(run, "checkpoints")
    out = {}
    for name in os.listdir(folder):
        if name.endswith(".index"):
            reader = tf.train.load_checkpoint(os.path.join(folder, name[:-6]))
            out[int(name[5:-6])] = {
                key: reader.get_tensor(key)
                for key, dtype in reader.get_variable_to_dtype_map().items()
                if dtype.is_floating
            }
    return out


def history_steps(run):
    """The steps logged in a run's history.csv."""
    with open(os.path.join(run, "history.csv")) as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@contextlib.contextmanager
def deterministic_ops():
    """Deterministic ops inside, then back to the default (with op
    determinism on, Keras refuses XLA: later tests must not inherit it)."""
    from tensorflow.python.framework import config as tf_config

    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        tf_config.disable_op_determinism()


class BreakAtStep(keras.callbacks.Callback):
    """Fault injection: ruin a weight of D (NaN) or G (zeros) at a step."""

    def __init__(self, step, how):
        super().__init__()
        self.step, self.how, self.count = step, how, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.count += 1
        if self.count != self.step:
            return
        generator, discriminator = self.model.layers
        if self.how == "nan":
            kernel = discriminator.layers[0].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))
        else:  # every fake the same image
            for weight in generator.weights:
                if weight.path.endswith("kernel"):
                    weight.assign(np.zeros(weight.shape, "float32"))


class SignalAtStep(keras.callbacks.Callback):
    """Sends this process SIGTERM after step `step`: a run stopped as `kill`
    stops it, in-process (the loop saves a checkpoint and raises
    TrainingInterrupted)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.count = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def snapshot(root):
    """Every entry under `root`: kind, bytes (files) and mtime."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            content = None
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    content = f.read()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            found[os.path.relpath(path, root)] = (
                stat.S_IFMT(info.st_mode),
                content,
                info.st_mtime_ns,
            )
    return found


def exit_code(argv):
    """`keras-dcgan ARGV`'s exit code in-process: what `main` returns, or
    the code of argparse's usage errors (a flag out of its range)."""
    from keras_dcgan.cli import main

    try:
        return main(argv)
    except SystemExit as e:
        return e.code


TINY_FLAGS = tiny_flags(num_samples=4, verbose=0)
