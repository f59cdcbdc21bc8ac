"""
Title: DCGAN on MNIST: the frozen-discriminator recipe on Keras 3
Author: keras_dcgan contributors
Date created: 2026/11/24
Last modified: 2026/11/25
Description: A generator trained through a frozen discriminator in one
    `keras.Sequential`, three `train_on_batch` calls a step, done right.
Accelerator: None (default run, 60 epochs of the 1,797 digits at batch
    128 = 840 steps: 2.4 minutes on a 2-core AMD EPYC CPU, 0.17 s a step)
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

This file is the lesson; checkpoints, resuming, signal handling, evaluation
and several GPUs are in `keras-dcgan train` and `keras_dcgan.train()`.
"""

"""
## Setup

In a notebook, edit the defaults below (or set `sys.argv` first).
"""

import argparse  # noqa: I001  (keras_dcgan before TensorFlow, below)
import os
import sys

import keras_dcgan  # noqa: F401  (first: it picks TensorFlow's CPU kernels)
import keras
import numpy as np
import tensorflow as tf
from keras_dcgan import (
    DCGANConfig,
    DataError,
    build_discriminator,
    build_generator,
    load_images,
)
from keras_dcgan.atomic import atomic_write
from keras_dcgan.visualize import image_grid, to_pil

parser = argparse.ArgumentParser(description="DCGAN on MNIST, step by step.")
parser.add_argument(
    "--data",
    help="MNIST as .npz (keras.datasets.mnist."
    "load_data() caches ~/.keras/datasets/mnist.npz; its "
    "x_train is used); default: scikit-learn digits, offline",
)
parser.add_argument("--output-dir", default="runs/mnist_example")
parser.add_argument("--epochs", type=int, default=60)
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
keras.utils.set_random_seed(args.seed)

"""
## The data

`load_images` reads the MNIST `.npz`, or by default the 1,797 8x8
handwritten digits that ship with scikit-learn (upscaled to 28x28, no
download), as a `tf.data.Dataset` of uint8 images. The pipeline shuffles
(anew every epoch), batches with a fixed batch size (the labels have one
shape) and scales to [-1, 1], the range of G's tanh.
"""

try:
    images = load_images(28, 1, data=args.data)
except DataError as error:
    sys.exit(f"mnist.py: {error}")
if images.num_images < args.batch_size:
    sys.exit(
        f"mnist.py: {images.num_images} images make no batch of "
        f"{args.batch_size}; lower --batch-size."
    )
print(images.description)

dataset = (
    images.dataset.shuffle(images.num_images, seed=args.seed)
    .batch(args.batch_size, drop_remainder=True)
    .map(
        lambda x: tf.cast(x, "float32") / 127.5 - 1.0,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    .prefetch(tf.data.AUTOTUNE)
)

"""
## The generator and the discriminator

The paper's networks (`keras_dcgan/models.py`, plain `keras.Sequential`):
G projects z to 7x7 maps and doubles the size twice with stride-2
Conv2DTranspose + BatchNorm + ReLU, ending in tanh; D halves it twice with
stride-2 Conv2D + (BatchNorm) + LeakyReLU and ends in Dense(1, sigmoid).
"""

config = DCGANConfig(
    image_size=28,
    channels=1,
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
## Compile D, freeze it, compile the combined model

The freeze works on D's *variables*: its layers stay trainable, so D's
BatchNorm normalises the fakes with batch statistics in G's step, as it does
in D's own steps (trap 2), and no weight of D moves there. The list of
weights is taken while everything is trainable.
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
noise after every epoch: `epoch_0001.png`, `epoch_0002.png`, ... Its
`model` is the combined model, whose first layer is G.
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

Per batch: fakes from G (in training mode, as the PyTorch reference), D on
the reals with label 1 and on the fakes with label 0 (D unfrozen), then the
combined model on the same noise with label 1 (D frozen): G learns to make
D say "real".
"""

real_labels = tf.ones((args.batch_size, 1))
fake_labels = tf.zeros((args.batch_size, 1))
make_fakes = tf.function(lambda z: generator(z, training=True))
noise = keras.random.SeedGenerator(args.seed)
initial = {
    "D": [v.numpy() for v in discriminator_weights],
    "G": [v.numpy() for v in generator.trainable_weights],
}

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

The last grid (`OUTPUT_DIR/epoch_NNNN.png`): digits after a few hundred
steps. Save G with `generator.save("generator.keras")`.
"""

print(f"Samples: {monitor.last_path}")
if "ipykernel" in sys.modules:
    from IPython.display import Image, display

    display(Image(filename=monitor.last_path))
