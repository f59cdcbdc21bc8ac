"""The input pipeline across epochs: images decoded and resized once per run."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from keras_dcgan.data import epoch_batches, from_dataset
from keras_dcgan.data.preprocess import resize_images
from keras_dcgan.training import train


def counted(images: np.ndarray, calls: list) -> tf.data.Dataset:
    """`images` as a dataset whose every element read is counted (as a
    decode or resize upstream would run)."""

    def count(image):
        calls.append(1)
        return image

    return tf.data.Dataset.from_tensor_slices(images).map(
        lambda image: tf.ensure_shape(
            tf.py_function(count, [image], tf.uint8), images.shape[1:]
        )
    )


def test_each_image_is_prepared_once_per_run_not_per_epoch(tmp_path, tiny_config):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (48, 28, 28, 1), dtype=np.uint8)
    calls = []
    config = dataclasses.replace(tiny_config, epochs=4, seed=0)
    train(config, counted(images, calls), str(tmp_path / "run"), verbose=0)
    # from_dataset checks the data (one pass) and caches it (one pass).
    assert len(calls) <= 2 * len(images), len(calls)


def test_a_resumed_epoch_reads_the_cache_not_the_source(tiny_config):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (64, 28, 28, 1), dtype=np.uint8)
    calls = []
    data = from_dataset(counted(images, calls), 28, 1)
    before = len(calls)
    for epoch in range(3):
        assert sum(1 for _ in epoch_batches(data, 16, 0, epoch)) == 4
    after_first = len(calls)
    # An epoch cut short (a run stopped mid-epoch) and the next ones.
    for i, _ in enumerate(epoch_batches(data, 16, 0, 3, skip_batches=1)):
        if i == 1:
            break
    for epoch in range(4, 6):
        assert sum(1 for _ in epoch_batches(data, 16, 0, epoch)) == 4
    assert len(calls) == after_first <= before + len(images)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("crop", [None, 28, 40])
def test_images_already_at_size_are_kept_as_they_are(channels, crop):
    rng = np.random.default_rng(2)
    images = tf.constant(rng.integers(0, 256, (5, 28, 28, channels), dtype=np.uint8))
    kept = resize_images(images, 28, channels, crop)
    resampled = tf.cast(
        tf.clip_by_value(
            tf.round(
                tf.image.resize(images, (28, 28), method="bilinear", antialias=True)
            ),
            0,
            255,
        ),
        tf.uint8,
    )
    np.testing.assert_array_equal(kept.numpy(), resampled.numpy())
    np.testing.assert_array_equal(kept.numpy(), images.numpy())


def test_an_epochs_pipeline_runs_without_the_autotuner_and_keeps_its_order():
    """tf.data's autotuner made destroying each epoch's iterator wait for
    its sleeping thread (3-12 s at most epoch boundaries on MNIST, see
    docs/BENCHMARKS.md): the epoch pipeline runs with fixed sizes, and the
    order still depends only on (seed, epoch)."""
    from keras_dcgan.data import from_array

    rng = np.random.default_rng(2)
    images = from_array(rng.integers(0, 256, (64, 28, 28), dtype=np.uint8), 28, 1)
    batches = epoch_batches(images, 16, seed=3, epoch=1)
    assert batches.options().autotune.enabled is False
    first = [b.numpy() for b in batches]
    again = [b.numpy() for b in epoch_batches(images, 16, seed=3, epoch=1)]
    other = [b.numpy() for b in epoch_batches(images, 16, seed=3, epoch=2)]
    assert len(first) == 4 and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert all(b.dtype == np.float32 and np.abs(b).max() <= 1.0 for b in first)
