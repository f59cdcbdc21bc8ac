"""Sampling a keras_dcgan generator three ways, and scoring the samples.

- "moving": inference mode, BatchNorm's moving statistics (the library's
  way, as PyTorch's `eval()`);
- "batch": training mode, each batch of 125 normalised by its own
  statistics (as PyTorch's `train()`), the moving statistics left as they
  were;
- "recalibrated": the moving statistics first replaced by the mean of the
  batch statistics of 50 batches of 128 fresh latents, then inference mode.
"""

import numpy as np

from benchmarks.quality_torch import EVAL_SEED, SAMPLE_BATCH, sample_latents

BATCH = 128
RECALIBRATION_BATCHES, RECALIBRATION_SEED = 50, 12345


def recalibrate(generator, z, batch=BATCH):
    """Sets each BatchNorm's moving statistics to the mean of its batch
    statistics over `z` (cumulative averaging: momentum (k-1)/k at the k-th
    batch), as PyTorch's `momentum=None`."""
    import keras

    norms = [
        layer
        for layer in generator.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    momenta = [layer.momentum for layer in norms]
    try:
        for k, i in enumerate(range(0, len(z), batch), start=1):
            for layer in norms:
                layer.momentum = (k - 1) / k
            generator(z[i : i + batch], training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum


def sample(generator, z, sampling):
    """uint8 images of `z`; the generator's weights are left as they were."""
    from keras_dcgan.data import to_uint8
    from keras_dcgan.generator.latent import generate

    if sampling == "moving":
        return generate(generator, z)
    saved = generator.get_weights()
    try:
        if sampling == "batch":
            return np.concatenate(
                [
                    to_uint8(generator(z[i : i + SAMPLE_BATCH], training=True))
                    for i in range(0, len(z), SAMPLE_BATCH)
                ]
            )
        fresh = sample_latents(
            RECALIBRATION_BATCHES * BATCH, z.shape[1], RECALIBRATION_SEED
        )
        recalibrate(generator, fresh)
        return generate(generator, z)
    finally:
        generator.set_weights(saved)


def score_images(images, real, extractor, seed=EVAL_SEED, batch_size=100):
    """Scores uint8 images [N, 28, 28, 1] the way `evaluate_generator` does
    (same extractor, FeatureStats and `evaluation.score_features`)."""
    from keras_dcgan.quality import evaluation, stats

    feature_stats = stats.FeatureStats(seed=seed)
    probabilities = []
    for i in range(0, len(images), batch_size):
        features, probs = extractor(images[i : i + batch_size])
        feature_stats.update(features)
        probabilities.append(probs)
    scores = evaluation.score_features(
        real, feature_stats, np.concatenate(probabilities), evaluation.ALL_METRICS, seed
    )
    return {
        "fid": scores["fid"]["value"],
        "kid": scores["kid"]["value"],
        "score": scores["is"]["value"],
        "precision": scores["pr"]["precision"],
        "recall": scores["pr"]["recall"],
    }
