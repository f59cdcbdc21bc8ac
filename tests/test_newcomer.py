"""What a newcomer meets first: each log line once, no TensorFlow chatter,
mistakes about files answered before TensorFlow is imported, the PyTorch
flag names, the same default seed everywhere."""

import os
import subprocess
import sys

import pytest

LOG_TWICE = """
import sys
import numpy as np
import keras_dcgan

keras_dcgan.enable_logging()
keras_dcgan.enable_logging()  # a notebook cell run twice
config = keras_dcgan.DCGANConfig(
    steps=1, image_size=28, channels=1, latent_dim=8, generator_width=8,
    discriminator_width=8, batch_size=16, num_samples=4,
)
for i in range(2):
    keras_dcgan.train(config, np.zeros((32, 28, 28), "uint8"),
                      sys.argv[1] + str(i), verbose=2)
"""


def test_each_log_line_is_shown_once(tmp_path):
    # TensorFlow's checkpoint code logs through absl, which gives the root
    # logger a handler: the package's lines were printed by both.
    result = subprocess.run(
        [sys.executable, "-c", LOG_TWICE, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: PYTHONPATH says which package
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [
        line for line in result.stderr.splitlines() if "checkpoint" in line.lower()
    ]
    for i in range(2):
        saved = f"Saved checkpoint {tmp_path / 'run'}{i}/checkpoints/ckpt-1."
        assert sum(saved in line for line in lines) == 1, result.stderr[-2000:]
    assert not any(":keras_dcgan." in line for line in result.stderr.splitlines())
    for i in range(2):
        finished = [
            line
            for line in result.stderr.splitlines()
            if f"run in {tmp_path / 'run'}{i}." in line
        ]
        assert len(finished) == 1, result.stderr[-2000:]
