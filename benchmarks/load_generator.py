"""How long does reading a run's generator from its checkpoint take, and
how much memory? `load_generator(run, checkpoint="latest")`, each time in a
fresh process (so imports and TensorFlow's start count the same for every
line), on a run of the default widths at 28 px (grayscale) and 64 px (RGB)
trained for one step. Usage:

    python -m benchmarks.load_generator --image-size 28 64 --repeats 3

Prints, per size, the median seconds of the call and the process's peak
resident memory (`ru_maxrss`) after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

_CHILD = """
import json, resource, sys, time
from keras_dcgan import load_generator
start = time.perf_counter()
load_generator(sys.argv[1], checkpoint="latest")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak}))
"""


def make_run(directory: str, image_size: int) -> str:
    """A run of the default networks at `image_size`, one step trained."""
    import numpy as np

    from keras_dcgan import DCGANConfig, train

    channels = 1 if image_size == 28 else 3
    config = DCGANConfig(
        image_size=image_size, channels=channels, steps=1, checkpoint_every=1
    )
    images = np.zeros((config.batch_size, image_size, image_size, channels), "uint8")
    run = os.path.join(directory, f"run{image_size}")
    train(config, images, run, verbose=0)
    return run


def measure(run: str, repeats: int) -> dict:
    lines = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, run],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        lines.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(line["seconds"] for line in lines),
        "peak_mib": statistics.median(line["peak_bytes"] for line in lines) / 2**20,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, nargs="+", default=[28, 64])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        for size in args.image_size:
            result = measure(make_run(directory, size), args.repeats)
            print(
                f"{size} px: {result['seconds']:.2f} s, "
                f"peak {result['peak_mib']:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
