"""
Title: DCGAN on CelebA faces with a frozen discriminator in Keras 3
Author: keras_dcgan contributors
Date created: 2026/11/24
Last modified: 2026/12/07
Description: A 64x64 DCGAN on CelebA faces, trained through a frozen discriminator.
Accelerator: GPU
"""

"""
## Introduction

The recipe of `mnist.py` (read that one first: it explains each step) on
RGB faces at the paper's 64x64: D learns real from fake with
`train_on_batch`, G learns through `combined = keras.Sequential([G, D])`
with D frozen. On Keras 3 the freeze must be on D's *variables*
(`variable.trainable = False`), set before every `train_on_batch`: the flag
is read when a train function is first traced, not at `compile()` (trap 1),
and a frozen BatchNorm *layer* switches to moving statistics (trap 2).
`frozen_discriminator_traps.py` shows both. This file needs only Keras,
TensorFlow and NumPy.

**Data.** Download `img_align_celeba.zip` from the CelebA site
(mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unzip it, and set `DATA` to
the folder (the one holding `img_align_celeba/`, or that folder itself):

    python celeba.py --data ~/data/celeba

A full run (the paper's): `--epochs 5 --steps-per-epoch 0`, 202,599 images
at batch 128, about 8,000 steps; roughly 20 minutes on one modern GPU, many
hours on a CPU. Faces are recognisable after the first epoch. The default
(2 x 50 steps, 3 minutes on a 2-core CPU) only tries the pipeline.
"""

"""
## Settings

Edit them here, or give them on the command line (`--help` lists them). In
a notebook this is the `parameters` cell (papermill's convention): a name
that is not one of these is refused, not silently ignored.
"""

DATA = ""  # the folder of the CelebA JPEGs (img_align_celeba/*.jpg)
OUTPUT_DIR = "runs/celeba_example"  # the sample grids go here, epoch_0001.png, ...
EPOCHS = 2  # passes over the data (or over STEPS_PER_EPOCH batches of it)
STEPS_PER_EPOCH = 50  # batches an epoch; 0: the whole data set
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
    "STEPS_PER_EPOCH": (int, 0, 10**9),
    "BATCH_SIZE": (int, 1, 4096),
    "LATENT_DIM": (int, 1, 4096),
    "WIDTH": (int, 1, 1024),
    "SEED": (int, 0, 2**31 - 1),
}


def fail(message):
    """Stops with one line on stderr and exit status 2, like a CLI."""
    print(f"celeba.py: error: {message}", file=sys.stderr)
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
    parser = OneLineParser(prog="celeba.py", description="DCGAN on CelebA.")
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
    if not settings["DATA"]:
        fail(
            "no DATA (--data): give the folder of the CelebA JPEGs "
            "(unzipped img_align_celeba.zip)"
        )
    if not os.path.isdir(os.path.expanduser(settings["DATA"])):
        fail(f"DATA (--data) {settings['DATA']}: not a folder of CelebA JPEGs")
    return settings


globals().update(checked_settings(globals(), sys.argv[1:]))

"""
## Setup
"""

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import glob
import tempfile

import keras
import numpy as np
import tensorflow as tf
from keras import layers

keras.utils.set_random_seed(SEED)

"""
## The data

A streaming `tf.data` pipeline over the JPEG files: each 178x218 photo is
decoded, center-cropped to the usual 108x108 face square, resized with
antialiasing to 64x64 and scaled to [-1, 1]. Unreadable files are skipped
with a warning.
"""

folder = glob.escape(os.path.expanduser(DATA))  # a literal name, not a pattern
files = sorted(
    glob.glob(os.path.join(folder, "*.jpg"))
    or glob.glob(os.path.join(folder, "img_align_celeba", "*.jpg"))
)
if len(files) < BATCH_SIZE:
    fail(
        f"DATA (--data) {DATA}: {len(files)} .jpg files there or in its "
        f"img_align_celeba/, fewer than one batch of {BATCH_SIZE}; "
        "point it at the unzipped CelebA"
    )
print(f"{DATA}: {len(files)} images")


def load_face(path):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    image = tf.image.resize_with_crop_or_pad(image, 108, 108)  # center crop
    image = tf.image.resize(image, (64, 64), antialias=True)
    return image / 127.5 - 1.0


dataset = (
    tf.data.Dataset.from_tensor_slices(files)
    .shuffle(len(files), seed=SEED)
    .map(load_face, num_parallel_calls=tf.data.AUTOTUNE)
    .ignore_errors(log_warning=True)
    .batch(BATCH_SIZE, drop_remainder=True)
)
if STEPS_PER_EPOCH:
    dataset = dataset.take(STEPS_PER_EPOCH)
dataset = dataset.prefetch(tf.data.AUTOTUNE)

"""
## The generator and the discriminator

The paper's 64x64 networks: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 ->
64x64x3 in G, the mirror image in D (at `WIDTH = 64`). Kernels drawn from
N(0, 0.02), BatchNorm's gamma from N(1, 0.02) and beta 0; no bias before a
BatchNorm; LeakyReLU(0.2) in D, no BatchNorm on its first layer.
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
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(latent_dim,)))
    model.add(
        layers.Dense(4 * 4 * 8 * width, use_bias=False, kernel_initializer=normal())
    )
    model.add(batch_norm(G_MOMENTUM))
    model.add(layers.ReLU())
    model.add(layers.Reshape((4, 4, 8 * width)))
    for filters in (4 * width, 2 * width, width):  # 8x8, 16x16, 32x32
        model.add(
            layers.Conv2DTranspose(
                filters,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            )
        )
        model.add(batch_norm(G_MOMENTUM))
        model.add(layers.ReLU())
    model.add(
        layers.Conv2DTranspose(
            3, 4, strides=2, padding="same", kernel_initializer=normal()
        )
    )
    model.add(layers.Activation("tanh"))
    return model


def make_discriminator(width):
    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(shape=(64, 64, 3)))
    model.add(
        layers.Conv2D(width, 4, strides=2, padding="same", kernel_initializer=normal())
    )
    model.add(layers.LeakyReLU(negative_slope=0.2))
    for filters in (2 * width, 4 * width, 8 * width):  # 16x16, 8x8, 4x4
        model.add(
            layers.Conv2D(
                filters,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            )
        )
        model.add(batch_norm())
        model.add(layers.LeakyReLU(negative_slope=0.2))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, activation="sigmoid", kernel_initializer=normal()))
    return model


generator = make_generator(LATENT_DIM, WIDTH)
discriminator = make_discriminator(WIDTH)
generator.summary()
discriminator.summary()

"""
## Compile D, freeze its variables, compile the combined model

Variables, not layers: D's BatchNorm keeps batch statistics in G's step
(trap 2). The flags are read when a train function is first traced (trap
1), so the loop sets them before every `train_on_batch`.
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
## A sample-grid callback

A grid of G's images from fixed noise after every epoch, as
`OUTPUT_DIR/epoch_NNNN.png`, written to a temporary file and renamed.
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

D on reals (label 1) and on fakes (label 0) with D unfrozen, then the
combined model on the same noise with label 1 with D frozen; the state is
set before every call (trap 1).
"""

real_labels = tf.ones((BATCH_SIZE, 1))
fake_labels = tf.zeros((BATCH_SIZE, 1))
make_fakes = tf.function(lambda z: generator(z, training=True))
noise = keras.random.SeedGenerator(SEED)
initial = [v.numpy() for v in discriminator_weights]

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
## Results

Under trap 1, D's weights would still be their initial values.
"""

moved = sum(
    not np.array_equal(before, v.numpy())
    for before, v in zip(initial, discriminator_weights)
)
print(f"D: {moved} of {len(initial)} weights changed")
if moved < len(initial):
    sys.exit("celeba.py: D did not learn; check the freezing.")
print(f"Samples: {monitor.last_path}")
if "ipykernel" in sys.modules:
    from IPython.display import Image, display

    display(Image(filename=monitor.last_path))
