"""
Title: DCGAN on MNIST digits
Description: Train the paper's DCGAN on 28x28 MNIST with Keras 3's
    frozen-discriminator composite model, and watch digits appear.

Run it as a script:

    python examples/mnist.py --data ../shared/data/mnist_test_10k.npz
    python examples/mnist.py               # TFDS "mnist" (needs it prepared
                                           # or network to download it)

Settings used for the real run in docs/ (2-core CPU, about 2 minutes):
10 epochs over the 10,000 MNIST test images, batch 128, latent size 100,
widths 64, seed 0. The full 60,000-image training set with 25 epochs gives
cleaner digits (about 15 minutes on the same CPU, well under one on a GPU).
"""

import argparse
import logging
import sys

from keras_dcgan import DataError, DCGANConfig, load_images, train

"""
## Setup

Flags with small defaults; `--epochs 25` is the paper's schedule.
"""

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--data", help="MNIST as .npz (array x) or an image "
                    "folder; default: TFDS mnist")
parser.add_argument("--data-dir", help="TFDS data directory")
parser.add_argument("--output-dir", default="runs/mnist")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--overwrite", action="store_true")
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(message)s")

"""
## The data

`load_images` returns uint8 images at the configured size; the training
loop shuffles and batches them per epoch and scales them to [-1, 1], the
range of the generator's tanh.
"""

config = DCGANConfig(image_size=28, channels=1, batch_size=args.batch_size,
                     epochs=args.epochs)
try:
    images = load_images(28, 1, dataset=None if args.data else "mnist",
                         data=args.data, data_dir=args.data_dir)
except DataError as error:
    sys.exit(f"mnist.py: {error}")
print(images.description)

"""
## Training

Each step trains the discriminator on a real and on a fake batch, then the
generator through the frozen discriminator (see keras_dcgan/composite.py for
why the freezing is done on variables, not layers). Grids from a fixed noise
batch land in `OUTPUT_DIR/samples/` after every epoch.
"""

history = train(config, images, args.output_dir, overwrite=args.overwrite)

"""
## Results

`OUTPUT_DIR/progress.gif` shows the grids epoch by epoch, `losses.png` the
losses and D's outputs, and `generator.keras` is the trained generator:

    keras-dcgan sample OUTPUT_DIR --num 64 --output digits.png
"""

print(f"Final D loss {history['d_loss'][-1]:.3f}, G loss "
      f"{history['g_loss'][-1]:.3f}; see {args.output_dir}/progress.gif")
