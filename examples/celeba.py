"""
Title: DCGAN on CelebA faces: the frozen-discriminator recipe on Keras 3
Author: keras_dcgan contributors
Date created: 2026/11/24
Last modified: 2026/11/25
Description: The paper's 64x64 DCGAN on CelebA face crops, trained through
    a frozen discriminator with three `train_on_batch` calls a step.
Accelerator: GPU (default run, 2 x 50 steps at batch 128: 3.2 minutes on
    a 2-core AMD EPYC CPU, 1.9 s a step)
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
`frozen_discriminator_traps.py` shows both.

This file is the lesson; checkpoints, resuming, signal handling, evaluation
and several GPUs are in `keras-dcgan train` and `keras_dcgan.train()`.

**Data.** Download `img_align_celeba.zip` from the CelebA site
(mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unzip it, and pass the folder
(the one holding `img_align_celeba/`, or that folder itself):

    python examples/celeba.py --data ~/data/celeba

A full run (the paper's): `--epochs 5 --steps-per-epoch 0`, 202,599 images
at batch 128, about 8,000 steps; roughly 20 minutes on one modern GPU, many
hours on a CPU. Faces are recognisable after the first epoch. The default
(2 x 50 steps) only tries the pipeline.
"""

"""
## Setup
"""

import argparse  # noqa: I001  (keras_dcgan before TensorFlow, below)
import glob
import os
import sys

import keras_dcgan  # noqa: F401  (first: it picks TensorFlow's CPU kernels)
import keras
import numpy as np
import tensorflow as tf
from keras_dcgan import DCGANConfig, build_discriminator, build_generator
from keras_dcgan.atomic import atomic_write
from keras_dcgan.visualize import image_grid, to_pil

parser = argparse.ArgumentParser(description="DCGAN on CelebA, step by step.")
parser.add_argument(
    "--data",
    help="folder of the CelebA JPEGs (img_align_celeba/*.jpg, or that folder itself)",
)
parser.add_argument("--output-dir", default="runs/celeba_example")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument(
    "--steps-per-epoch", type=int, default=50, help="0: the whole data set"
)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--latent-dim", type=int, default=100)
parser.add_argument(
    "--width", type=int, default=64, help="G's last and D's first width"
)
parser.add_argument("--seed", type=int, default=0)
# In a notebook, sys.argv holds Jupyter's own `-f kernel.json`: ignore it.
args, unknown = parser.parse_known_args()
if unknown and "ipykernel" not in sys.modules:
    parser.error(f"unrecognized arguments: {' '.join(unknown)}")
if args.epochs < 1:
    parser.error("--epochs must be at least 1")
if not args.data:
    sys.exit(
        "celeba.py: no data; give --data FOLDER with the CelebA JPEGs "
        "(unzipped img_align_celeba.zip)."
    )
keras.utils.set_random_seed(args.seed)

"""
## The data

A streaming `tf.data` pipeline over the JPEG files: each 178x218 photo is
decoded, center-cropped to the usual 108x108 face square, resized with
antialiasing to 64x64 and scaled to [-1, 1]. Unreadable files are skipped
with a warning.
"""

files = sorted(
    glob.glob(os.path.join(args.data, "*.jpg"))
    or glob.glob(os.path.join(args.data, "img_align_celeba", "*.jpg"))
)
if len(files) < args.batch_size:
    sys.exit(
        f"celeba.py: --data {args.data}: {len(files)} .jpg files there or "
        f"in its img_align_celeba/, fewer than one batch of "
        f"{args.batch_size}; point --data at the unzipped CelebA."
    )
print(f"{args.data}: {len(files)} images")


def load_face(path):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    image = tf.image.resize_with_crop_or_pad(image, 108, 108)  # center crop
    image = tf.image.resize(image, (64, 64), antialias=True)
    return image / 127.5 - 1.0


dataset = (
    tf.data.Dataset.from_tensor_slices(files)
    .shuffle(len(files), seed=args.seed)
    .map(load_face, num_parallel_calls=tf.data.AUTOTUNE)
    .ignore_errors(log_warning=True)
    .batch(args.batch_size, drop_remainder=True)
)
if args.steps_per_epoch:
    dataset = dataset.take(args.steps_per_epoch)
dataset = dataset.prefetch(tf.data.AUTOTUNE)

"""
## The generator and the discriminator

The paper's 64x64 networks: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 ->
64x64x3 in G, the mirror image in D (at `--width 64`).
"""

config = DCGANConfig(
    image_size=64,
    channels=3,
    latent_dim=args.latent_dim,
    generator_width=args.width,
    discriminator_width=args.width,
    batch_size=args.batch_size,
)
generator = build_generator(config)
discriminator = build_discriminator(config)
generator.summary()
discriminator.summary()

"""
## Compile D, freeze its variables, compile the combined model
"""

discriminator_weights = list(discriminator.trainable_weights)


def set_discriminator_frozen(frozen):
    # Variables, not layers: D's BatchNorm keeps batch statistics (trap 2).
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
`OUTPUT_DIR/epoch_NNNN.png`.
"""


class GANMonitor(keras.callbacks.Callback):
    def __init__(self, folder, latent_dim, num_images=64, seed=0):
        super().__init__()
        self.folder = folder
        self.z = keras.random.normal((num_images, latent_dim), seed=seed)

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.layers[0](self.z, training=False)
        self.last_path = os.path.join(self.folder, f"epoch_{epoch + 1:04d}.png")
        with atomic_write(self.last_path) as tmp:  # never half a file
            to_pil(image_grid(np.asarray(images))).save(tmp)


os.makedirs(args.output_dir, exist_ok=True)
monitor = GANMonitor(args.output_dir, args.latent_dim, seed=args.seed)
callbacks = keras.callbacks.CallbackList([monitor], model=combined)

"""
## The training loop

D on reals (label 1) and on fakes (label 0) with D unfrozen, then the
combined model on the same noise with label 1 with D frozen; the state is
set before every call (trap 1).
"""

real_labels = tf.ones((args.batch_size, 1))
fake_labels = tf.zeros((args.batch_size, 1))
make_fakes = tf.function(lambda z: generator(z, training=True))
noise = keras.random.SeedGenerator(args.seed)
initial = [v.numpy() for v in discriminator_weights]

callbacks.on_train_begin()
for epoch in range(args.epochs):
    d_losses, g_losses = [], []
    for real_images in dataset:
        z = keras.random.normal((args.batch_size, args.latent_dim), seed=noise)
        fake_images = make_fakes(z)
        set_discriminator_frozen(False)
        d_real = discriminator.train_on_batch(real_images, real_labels)
        d_fake = discriminator.train_on_batch(fake_images, fake_labels)
        set_discriminator_frozen(True)
        g_losses.append(combined.train_on_batch(z, real_labels))
        d_losses.append((d_real + d_fake) / 2)
    logs = {"d_loss": float(np.mean(d_losses)), "g_loss": float(np.mean(g_losses))}
    print(
        f"epoch {epoch + 1}/{args.epochs}: D loss {logs['d_loss']:.3f}, "
        f"G loss {logs['g_loss']:.3f}"
    )
    callbacks.on_epoch_end(epoch, logs)
callbacks.on_train_end()

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
