"""
Title: DCGAN on CelebA faces
Description: Train the paper's 64x64 DCGAN on CelebA face crops with Keras
    3's frozen-discriminator composite model.

CelebA cannot be downloaded automatically everywhere (TFDS fetches it from
Google Drive, which often refuses). Download `img_align_celeba.zip` from the
CelebA site, unzip it, and point `--data` at the folder:

    python examples/celeba.py --data /path/to/img_align_celeba

or, with a prepared TFDS copy: `python examples/celeba.py --data-dir DIR`.

Settings of a full run (the paper's): 5 epochs over the 202,599 images at
batch 128, latent size 100, widths 64, Adam(2e-4, 0.5): about 8,000 steps,
roughly 20 minutes on one modern GPU, many hours on a laptop CPU. Faces are
recognisable after the first epoch. The defaults below are small, to try
the pipeline. On a machine with several GPUs, `--strategy mirrored` splits
each batch across them (raise `--batch-size` with the GPU count).
"""

import argparse
import logging
import sys

from keras_dcgan import DataError, DCGANConfig, load_images, make_strategy, train

"""
## Setup
"""

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--data", help="folder of CelebA JPEGs "
                    "(img_align_celeba); default: TFDS celeb_a")
parser.add_argument("--data-dir", help="TFDS data directory")
parser.add_argument("--output-dir", default="runs/celeba")
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--steps", type=int, default=200,
                    help="stop after this many steps (0: all epochs)")
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--overwrite", action="store_true")
parser.add_argument("--strategy", default="auto",
                    help="auto, mirrored (all GPUs), multi_worker, ...")
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(message)s")
# Before any TensorFlow work: a multi-worker strategy configures collectives.
strategy = make_strategy(args.strategy)

"""
## The data

Each 178x218 photo is center-cropped to a square and resized (with
antialiasing) to 64x64 RGB, then cached in memory as uint8.
"""

config = DCGANConfig(image_size=64, channels=3, batch_size=args.batch_size,
                     epochs=args.epochs, steps=args.steps or None,
                     strategy=args.strategy)
try:
    images = load_images(64, 3, dataset=None if args.data else "celeb_a",
                         data=args.data, data_dir=args.data_dir)
except DataError as error:
    sys.exit(f"celeba.py: {error}")
print(images.description)

"""
## Training

The 64x64 networks are the paper's: 4x4x512 -> 8x8x256 -> 16x16x128 ->
32x32x64 -> 64x64x3 in the generator, the mirror image in the
discriminator.
"""

history = train(config, images, args.output_dir, overwrite=args.overwrite,
                strategy=strategy)

"""
## Results

Sample grids are in `OUTPUT_DIR/samples/`, the trained generator in
`OUTPUT_DIR/generator.keras`.
"""

print(f"Trained {history['step'][-1]} steps; see {args.output_dir}/samples/")
