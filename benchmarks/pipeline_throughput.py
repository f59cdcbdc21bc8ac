"""Does the input pipeline keep training fed? Images/s of each, side by side.

For MNIST-28 from an .npz array and for a folder of CelebA-sized JPEGs
(178x218, generated, resized to 64x64x3), measures:

- pipeline, first pass: loading the source (folders: decoding every file,
  in parallel) in images/s;
- pipeline, per epoch: iterating `epoch_batches` (shuffle, batch, scale,
  prefetch) over the cached images, with no training, in images/s;
- training: complete `DCGAN.train_step` calls at batch 128 with the default
  networks (widths 64, latent 100), in real images/s.

The target is a pipeline at least 5x faster than training. Usage:

    python -m benchmarks.pipeline_throughput --npz mnist_test_10k.npz \
        --jpegs 3000 --output docs/pipeline_throughput.json
"""

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_dcgan import DCGAN, DCGANConfig, load_images
from keras_dcgan.data import epoch_batches


def make_jpeg_folder(folder, count, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:218, :178]
    for i in range(count):
        image = rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)
        cy, cx = rng.uniform(80, 140), rng.uniform(60, 120)
        oval = ((yy - cy) / 60) ** 2 + ((xx - cx) / 45) ** 2 < 1
        image[oval] = rng.integers(100, 255, 3)
        Image.fromarray(image).save(os.path.join(folder, f"{i:06d}.jpg"), quality=90)


def pipeline_rate(images, batch_size, epochs=3):
    rates = []
    for epoch in range(epochs):
        start, seen = time.perf_counter(), 0
        for batch in epoch_batches(images, batch_size, seed=0, epoch=epoch):
            seen += int(batch.shape[0])
        rates.append(seen / (time.perf_counter() - start))
    return float(np.median(rates))


def training_rate(config, images, steps):
    gan = DCGAN(config)
    batches = iter(epoch_batches(images, config.batch_size, 0, 0).repeat())
    for _ in range(3):  # trace and warm up
        gan.train_step(next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        gan.train_step(next(batches))
    return steps * config.batch_size / (time.perf_counter() - start)


def measure(name, load, config, steps):
    start = time.perf_counter()
    images = load()
    load_seconds = time.perf_counter() - start
    result = {
        "images": images.num_images,
        "first_pass_images_per_s": images.num_images / load_seconds,
        "pipeline_images_per_s": pipeline_rate(images, config.batch_size),
        "training_images_per_s": training_rate(config, images, steps),
    }
    train = result["training_images_per_s"]
    result["margin"] = result["pipeline_images_per_s"] / train
    result["first_pass_margin"] = result["first_pass_images_per_s"] / train
    print(name, json.dumps({k: round(v, 1) for k, v in result.items()}))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--npz",
        required=True,
        help="MNIST .npz with x, e.g. mnist_test_10k.npz (README)",
    )
    parser.add_argument("--jpegs", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--output")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, TF {tf.__version__}, "
        f"GPU: {bool(tf.config.list_physical_devices('GPU'))}"
    }
    mnist = DCGANConfig(image_size=28, channels=1)
    results["mnist_28_npz"] = measure(
        "mnist_28_npz", lambda: load_images(28, 1, data=args.npz), mnist, args.steps
    )
    with tempfile.TemporaryDirectory() as folder:
        make_jpeg_folder(folder, args.jpegs)
        faces = DCGANConfig(image_size=64, channels=3)
        results["jpeg_folder_64"] = measure(
            "jpeg_folder_64",
            lambda: load_images(64, 3, data=folder),
            faces,
            max(5, args.steps // 4),
        )
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
