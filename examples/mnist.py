"""
Title: DCGAN on MNIST with a frozen discriminator in Keras 3
Author: keras_dcgan contributors
Date created: 2026/11/24
Last modified: 2026/12/07
Description: A DCGAN trained the composite-model way: three train_on_batch calls a step.
Accelerator: GPU
"""

"""
## Introduction

DCGAN trains two networks against each other: the discriminator D learns to
tell real images (label 1) from the generator's fakes (label 0), and the
generator G learns to make fakes that D calls real. The classic Keras way
stacks them in one model, `combined = keras.Sequential([G, D])`, and freezes
D there, so that training the combined model on noise with label 1 moves G
only. Each step is three `train_on_batch` calls: D on reals, D on fakes, the
combined model on noise.

The recipe as Keras 2 tutorials write it breaks twice on Keras 3:

- **Trap 1**: `trainable` is read when a model's train function is traced
  (its first `train_on_batch`), not at `compile()`. Compile D, set
  `D.trainable = False`, compile the combined model, train: D's own step is
  traced frozen and D never learns (Keras only warns).
- **Trap 2**: a BatchNormalization layer with `trainable = False` runs in
  inference mode, on moving statistics. Toggling `D.trainable` fixes trap 1
  but makes G train against a different function from the D that is trained.

The fix, below: freeze D's *variables* (`variable.trainable = False`), not
its layers, and set the state right before every `train_on_batch`.
`frozen_discriminator_traps.py` runs all three recipes side by side.

This file needs only Keras, TensorFlow and NumPy. The default run is 5
epochs of MNIST's 60,000 digits, 2,340 steps: a few minutes on a GPU; on a
2-core CPU, at the 0.17 s a step these networks took there, about 7.
"""

"""
## Settings

Edit them here, or give them on the command line (`python mnist.py --epochs
1 --data mnist.npz`; `--help` lists them). In a notebook this is the
`parameters` cell (papermill's convention): a name that is not one of these
is refused, not silently ignored.
"""

DATA = ""  # "": MNIST via keras.datasets (11 MB, once); or a .npz of 28x28 digits
OUTPUT_DIR = "runs/mnist_example"  # the sample grids go here, epoch_0001.png, ...
EPOCHS = 5  # passes over the data
BATCH_SIZE = 128  # images per step, as in the DCGAN paper
LATENT_DIM = 100  # size of the noise vector z
WIDTH = 64  # filters of G's last and D's first convolution
SEED = 0  # the same seed gives the same run

"""
The settings are checked (and the command line read) before TensorFlow is
imported, so that a typo is refused at once, by name.
"""

import argparse
import os
import re
import sys

setting_ranges = {  # name: (type, lowest, highest); None: any text
    "DATA": (str, None, None),
    "OUTPUT_DIR": (str, None, None),
    "EPOCHS": (int, 1, 10_000),
    "BATCH_SIZE": (int, 1, 4096),
    "LATENT_DIM": (int, 1, 4096),
    "WIDTH": (int, 1, 1024),
    "SEED": (int, 0, 2**31 - 1),
}


def fail(message):
    """Stops with one line on stderr and exit status 2, like a CLI."""
    print(f"mnist.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        fail(f"{message} (see --help)")


def checked_settings(namespace, argv):
    """The settings in `namespace`, overridden by `argv` flags; an unknown
    name, a wrong type or a value out of range stops the run."""
    unknown = [n for n in namespace if re.fullmatch("[A-Z][A-Z0-9_]*", n)]
    unknown = [n for n in unknown if n not in setting_ranges]
    if unknown:
        fail(
            f"unknown setting {', '.join(unknown)}; "
            f"the settings are {', '.join(setting_ranges)}"
        )
    parser = OneLineParser(prog="mnist.py", description="DCGAN on MNIST.")
    for name, (kind, _, _) in setting_ranges.items():
        # Checked here: argparse would convert a text default ("1") silently.
        value = namespace.get(name)  # None where a reader deleted it
        if type(value) is not kind:
            fail(f"{name} = {value!r}: must be of type {kind.__name__}")
        flag = "--" + name.lower().replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=value)
    if "ipykernel" in sys.modules and argv[:1] == ["-f"]:
        argv = []  # Jupyter's own arguments, not the reader's
    settings = vars(parser.parse_args(argv))
    for name, value in settings.items():
        _, low, high = setting_ranges[name]
        if low is not None and not low <= value <= high:
            fail(f"{name} = {value}: must be from {low} to {high}")
    if not settings["OUTPUT_DIR"]:
        fail("OUTPUT_DIR is empty; name a folder for the sample grids")
    if settings["DATA"] and not os.path.isfile(settings["DATA"]):
        fail(f"DATA (--data) {settings['DATA']}: not a file; give a .npz of digits")
    return settings


globals().update(checked_settings(globals(), sys.argv[1:]))

"""
## Setup
"""

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tempfile

import keras
import numpy as np
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(SEED)

"""
## The data

MNIST's 60,000 training digits (or the `.npz` of `DATA`: its `x_train`, or
its first array), shuffled anew every epoch, in batches of a fixed size
(the labels have one shape), scaled to [-1, 1], the range of G's tanh.
"""


def load_digits(path):
    """uint8 images [N, 28, 28, 1] from MNIST or a `.npz` file."""
    if not path:
        (x, _), _ = keras.datasets.mnist.load_data()
    elif not os.path.isfile(path):  # a folder or a FIFO would fail or hang
        fail(f"DATA (--data) {path}: not a file; give a .npz of 28x28 uint8 images")
    else:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                x = arrays["x_train" if "x_train" in arrays else arrays.files[0]]
        except Exception as error:  # not a .npz, damaged, empty: all one answer
            fail(
                f"DATA (--data) {path}: not a readable .npz file "
                f"({type(error).__name__}); give MNIST's mnist.npz or a .npz "
                "of 28x28 uint8 images"
            )
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.dtype != np.uint8 or x.shape[1:] != (28, 28):
        fail(
            f"DATA (--data) {path}: images of shape {x.shape[1:]} and dtype "
            f"{x.dtype}; give 28x28 uint8 images, as MNIST's"
        )
    return x[..., None]


images = load_digits(DATA)
if len(images) < BATCH_SIZE:
    fail(f"{len(images)} images make no batch of {BATCH_SIZE}; lower BATCH_SIZE")
print(f"{len(images)} images of {images.shape[1:]}")

dataset = (
    tf.data.Dataset.from_tensor_slices(images)
    .shuffle(len(images), seed=SEED)
    .batch(BATCH_SIZE, drop_remainder=True)
    .map(lambda x: tf.cast(x, "float32") / 127.5 - 1.0)
    .prefetch(tf.data.AUTOTUNE)
)

"""
## The generator and the discriminator

The paper's networks, as the PyTorch reference trains them: kernels drawn
from N(0, 0.02), BatchNorm's gamma from N(1, 0.02) and beta 0, PyTorch's
BatchNorm momentum and epsilon. G projects z to 7x7 maps and doubles the
size twice with stride-2 Conv2DTranspose + BatchNorm + ReLU, ending in tanh;
D halves it twice with stride-2 Conv2D + BatchNorm (not on the first) +
LeakyReLU(0.2) and ends in Dense(1, sigmoid). No bias before a BatchNorm:
its beta makes it redundant.
"""


def normal():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


# G runs twice a step in training mode on the same z (the fakes for D, then
# inside the combined model), so each run moves its moving statistics by
# 0.9 ** 0.5: two make the one 0.9 update a step of PyTorch's momentum 0.1.
G_MOMENTUM = 0.9**0.5


def batch_norm(momentum=0.9):
    return layers.BatchNormalization(
        momentum=momentum,
        epsilon=1e-5,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        beta_initializer="zeros",
    )


def make_generator(latent_dim, width):
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(
                7 * 7 * 2 * width, use_bias=False, kernel_initializer=normal()
            ),
            batch_norm(G_MOMENTUM),
            layers.ReLU(),
            layers.Reshape((7, 7, 2 * width)),
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            ),
            batch_norm(G_MOMENTUM),
            layers.ReLU(),
            layers.Conv2DTranspose(
                1, 4, strides=2, padding="same", kernel_initializer=normal()
            ),
            layers.Activation("tanh"),
        ],
        name="generator",
    )


def make_discriminator(width):
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(
                width, 4, strides=2, padding="same", kernel_initializer=normal()
            ),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(
                2 * width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            ),
            batch_norm(),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", kernel_initializer=normal()),
        ],
        name="discriminator",
    )


generator = make_generator(LATENT_DIM, WIDTH)
discriminator = make_discriminator(WIDTH)
generator.summary()
discriminator.summary()

"""
## Compile D, freeze it, compile the combined model

The freeze works on D's *variables*: its layers stay trainable, so D's
BatchNorm normalises the fakes with batch statistics in G's step, as it does
in D's own steps (trap 2), and no weight of D moves there. The list of
weights is taken while everything is trainable (BatchNorm's moving averages
are not in it: they are never trained).
"""

discriminator_weights = list(discriminator.trainable_weights)


def set_discriminator_frozen(frozen):
    for variable in discriminator_weights:
        variable.trainable = not frozen


set_discriminator_frozen(False)
discriminator.compile(
    optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy"
)
set_discriminator_frozen(True)
combined = keras.Sequential([generator, discriminator], name="combined")
combined.compile(
    optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy"
)

"""
Keras reads these flags when each model's train function is traced, at its
first `train_on_batch` (trap 1), so the loop sets the state before every
call, not just once here.

## A sample-grid callback

A `keras.callbacks.Callback` that writes a grid of G's images from fixed
noise after every epoch: `epoch_0001.png`, `epoch_0002.png`, ... Each grid
is written to a temporary file first and then renamed, so that a stopped run
never leaves half a picture.
"""


def save_grid(images, path, columns=8, gap=2):
    """Images in [-1, 1] as one PNG: `columns` a row, `gap` pixels apart."""
    pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")
    n, h, w, c = pixels.shape
    rows = -(-n // columns)
    grid = np.zeros((rows * (h + gap) + gap, columns * (w + gap) + gap, c), "uint8")
    for i, image in enumerate(pixels):
        top, left = gap + i // columns * (h + gap), gap + i % columns * (w + gap)
        grid[top : top + h, left : left + w] = image
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(fd)
    try:
        keras.utils.save_img(tmp, grid, scale=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class GANMonitor(keras.callbacks.Callback):
    def __init__(self, folder, num_images=64, latent_dim=100, seed=0):
        super().__init__()
        self.folder = folder
        self.z = keras.random.normal((num_images, latent_dim), seed=seed)

    def on_epoch_end(self, epoch, logs=None):
        images = self.model(self.z, training=False)
        self.last_path = os.path.join(self.folder, f"epoch_{epoch + 1:04d}.png")
        save_grid(keras.ops.convert_to_numpy(images), self.last_path)


os.makedirs(OUTPUT_DIR, exist_ok=True)
monitor = GANMonitor(OUTPUT_DIR, latent_dim=LATENT_DIM, seed=SEED)
monitor.set_model(generator)

"""
## The training loop

Per batch: fakes from G (in training mode, as the PyTorch reference), D on
the reals with label 1 and on the fakes with label 0 (D unfrozen), then the
combined model on the same noise with label 1 (D frozen): G learns to make
D say "real".
"""

real_labels = tf.ones((BATCH_SIZE, 1))
fake_labels = tf.zeros((BATCH_SIZE, 1))
make_fakes = tf.function(lambda z: generator(z, training=True))
noise = keras.random.SeedGenerator(SEED)
initial = {
    "D": [v.numpy() for v in discriminator_weights],
    "G": [v.numpy() for v in generator.trainable_weights],
}

for epoch in range(EPOCHS):
    d_losses, g_losses = [], []
    for real_images in dataset:
        z = keras.random.normal((BATCH_SIZE, LATENT_DIM), seed=noise)
        fake_images = make_fakes(z)
        set_discriminator_frozen(False)
        d_real = discriminator.train_on_batch(real_images, real_labels)
        d_fake = discriminator.train_on_batch(fake_images, fake_labels)
        set_discriminator_frozen(True)
        g_losses.append(combined.train_on_batch(z, real_labels))
        d_losses.append((d_real + d_fake) / 2)
    logs = {"d_loss": float(np.mean(d_losses)), "g_loss": float(np.mean(g_losses))}
    print(
        f"epoch {epoch + 1}/{EPOCHS}: D loss {logs['d_loss']:.3f}, "
        f"G loss {logs['g_loss']:.3f}"
    )
    monitor.on_epoch_end(epoch, logs)

"""
## Did both networks learn?

The check the broken recipes never make: under trap 1, D's weights are
bit-identical to their initial values after any number of steps.
"""

for name, weights in (("D", discriminator_weights), ("G", generator.trainable_weights)):
    moved = sum(
        not np.array_equal(before, v.numpy())
        for before, v in zip(initial[name], weights)
    )
    print(f"{name}: {moved} of {len(weights)} weights changed")
    if moved < len(weights):
        sys.exit(f"mnist.py: {name} did not learn; check the freezing.")

"""
## Results

The last grid, `OUTPUT_DIR/epoch_NNNN.png`: digits after the first epoch.
Save G with `generator.save("generator.keras")`.
"""

print(f"Samples: {monitor.last_path}")
if "ipykernel" in sys.modules:
    from IPython.display import Image, display

    display(Image(filename=monitor.last_path))
