"""Whole runs, epoch boundaries included: does anything stall between epochs?

The throughput benchmark times steps inside an epoch; a wait between
epochs (a pipeline rebuilt, a cache read again, a callback) hides from it.
This one trains `--epochs` epochs through `keras_dcgan.train` on an image
array (default flags otherwise) and times every step with a Keras callback
(from one step's end to the next step's end, so everything between two
steps counts). It reports steps/s over the whole run (wall clock from the
first step's end to the last one's, so building the models and the first
trace are left out) against steps/s inside epochs (the median step), the
slowest steps, and which of them are an epoch's first. Usage:

    python -m benchmarks.whole_run --data mnist_test_10k.npz --epochs 5 \
        --output docs/whole_run.json

A stall-free run has whole-run steps/s within a few per cent of the
in-epoch figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time

import keras_dcgan  # (before TensorFlow: it picks the CPU kernels)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_whole_run(images, epochs: int, **config_fields) -> dict:
    """Trains `epochs` epochs; the time of each step, boundaries included.

    Args:
        images: The training images (an array `keras_dcgan.train` takes).
        epochs: Epochs to train.
        **config_fields: `DCGANConfig` fields other than the defaults.

    Returns:
        {"step_seconds": [...], "steps_per_epoch": int, "wall_seconds": ...,
        and the summary figures}.
    """
    import keras

    ends = []

    class StepEnds(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    config = keras_dcgan.DCGANConfig(epochs=epochs, **config_fields)
    with tempfile.TemporaryDirectory() as run:
        start = time.perf_counter()
        keras_dcgan.train(config, images, run, callbacks=[StepEnds()], verbose=0)
        wall = time.perf_counter() - start
    gaps = [b - a for a, b in zip(ends, ends[1:])]  # step 2 onwards
    per_epoch = len(ends) // epochs
    inside = statistics.median(gaps)
    whole = (len(ends) - 1) / (ends[-1] - ends[0])
    first_of_epoch = {per_epoch * e for e in range(1, epochs)}  # 0-based steps
    slowest = sorted(range(len(gaps)), key=gaps.__getitem__, reverse=True)[:8]
    return {
        "epochs": epochs,
        "steps_per_epoch": per_epoch,
        "wall_seconds": round(wall, 2),
        "median_step_seconds": round(inside, 4),
        "steps_per_second_inside_epochs": round(1 / inside, 3),
        "steps_per_second_whole_run": round(whole, 3),
        "whole_over_inside": round(whole * inside, 3),
        "epoch_first_step_seconds": [
            round(gaps[s - 1], 3) for s in sorted(first_of_epoch)
        ],
        "slowest_steps": [
            {
                "step": i + 2,
                "seconds": round(gaps[i], 3),
                "epoch_first": i + 1 in first_of_epoch,
            }
            for i in slowest
        ],
        "step_seconds": [round(g, 4) for g in gaps],
    }


def main(argv=None) -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="an .npz/.npy image array")
    parser.add_argument("--epochs", type=int, default=5, help="epochs (default 5)")
    parser.add_argument("--output", help="write the results as JSON here")
    args = parser.parse_args(argv)
    loaded = np.load(args.data, allow_pickle=False)
    images = loaded[loaded.files[0]] if hasattr(loaded, "files") else loaded
    # The shape the CLI would pick (28 px grayscale for MNIST), not the
    # config's 64 px RGB default, which would time a 10x larger model.
    from keras_dcgan.data import suggest_shape

    size, channels = suggest_shape(data=args.data)
    result = time_whole_run(images, args.epochs, image_size=size, channels=channels)
    result.update(
        data=args.data.rsplit("/", 1)[-1],
        image_size=size,
        channels=channels,
        cpu=cpu_model(),
        date=time.strftime("%Y-%m-%d"),
    )
    summary = {k: v for k, v in result.items() if k != "step_seconds"}
    print(json.dumps(summary, indent=1))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
