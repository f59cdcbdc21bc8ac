"""Scoring a generator against real images, streaming in batches.

Real statistics are computed once (and optionally cached to `.npz`); the
generator's images are made, featurized and folded into running sums one
batch at a time, so 10,000+ images never sit in memory as features of both
sets at once (only a capped subsample is kept for KID and precision/recall).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

import keras
import numpy as np

from keras_dcgan import bounds
from keras_dcgan.data import ImageData
from keras_dcgan.errors import DataError
from keras_dcgan.generator.latent import generate, generator_shapes, sample_latents
from keras_dcgan.quality import metrics
from keras_dcgan.quality.features import FeatureExtractor
from keras_dcgan.quality.stats import (
    FeatureStats,
    RealStats,
    load_real_stats,
    save_real_stats,
)
from keras_dcgan.reading import read_json_object

logger = logging.getLogger(__name__)

ALL_METRICS = ("fid", "kid", "is", "pr")
# A report is a few hundred bytes; a file larger than this is not one.
MAX_REPORT_BYTES = 1 << 20


def check_metrics(names: Sequence[str]) -> tuple:
    """Validates metric names (fid, kid, is, pr); returns them as a tuple."""
    if isinstance(names, str) or not all(
        isinstance(n, str) for n in (names if isinstance(names, Sequence) else [0])
    ):
        raise DataError(
            f"metric names {str(names)[:40]!r}: give a list of names from "
            f"{','.join(ALL_METRICS)}, e.g. ['fid', 'kid']."
        )
    unknown = sorted(set(names) - set(ALL_METRICS))
    if unknown or not names:
        raise DataError(
            f"metric_names={','.join(names)}: unknown {unknown}; "
            f"choose from {','.join(ALL_METRICS)}."
        )
    return tuple(names)


def _real_batches(
    images: ImageData | np.ndarray, num: int, batch_size: int, seed: int
) -> Iterable[np.ndarray]:
    # A seeded sample: --num below the source size must not take just its
    # start (MNIST's test set, for one, has cleaner writers first).
    if isinstance(images, np.ndarray):
        order = np.arange(len(images))
        if num < len(images):
            order = np.sort(
                np.random.default_rng(seed).choice(len(images), num, replace=False)
            )
        for i in range(0, len(order), batch_size):
            yield images[order[i : i + batch_size]]
        return
    ds = images.dataset.shuffle(min(images.num_images, 60_000), seed=seed)
    yield from ds.take(num).batch(batch_size).as_numpy_iterator()


def real_stats(
    images: ImageData | np.ndarray,
    extractor: FeatureExtractor,
    num: int = 10_000,
    batch_size: int = 100,
    seed: int = 0,
    source: str = "array",
    cache: str | None = None,
) -> RealStats:
    """Feature statistics of up to `num` real images, reusing `cache` when
    it matches the inputs.

    A cache made by another extractor, source or image count is ignored
    (with a log line) and overwritten.

    Args:
        images: uint8 images as an `ImageData` or an array [N, H, W, C].
        extractor: The feature extractor.
        num: Images used (fewer if the source has fewer).
        batch_size: Images per forward pass.
        seed: Seed of the sample of images and of the kept subsample.
        source: Where the images came from, recorded for the cache.
        cache: A statistics `.npz` to reuse or write (None: computed,
            not kept).

    Returns:
        The `RealStats`.

    Example:
        >>> real = real_stats(load_images(28, 1, data=path), ext)
    """
    if cache:
        total = images.num_images if isinstance(images, ImageData) else len(images)
        expect = {
            "extractor_id": extractor.id,
            "num_images": min(num, total),
            "source": source,
        }
        cached = load_real_stats(cache, expect)
        if cached is not None:
            return cached
    batch_size = _check_batch_size(batch_size)
    num, seed = _check_sources(images, extractor, num, seed)
    if not isinstance(source, str):
        raise DataError("source: give the images' name as a str.")
    stats = FeatureStats(seed=seed)
    for batch in _real_batches(images, num, batch_size, seed):
        stats.update(extractor(batch)[0])
    stats = RealStats.from_stats(stats, extractor.id, source)
    if cache:
        save_real_stats(stats, cache)
        logger.info("Cached real statistics in %s.", cache)
    return stats


# The name from before `real_stats` took a cache: the same function.
compute_real_stats = real_stats


def evaluate_generator(
    generator: keras.Model,
    real: RealStats | ImageData | np.ndarray,
    extractor: FeatureExtractor,
    num: int = 10_000,
    seed: int = 0,
    batch_size: int = 100,
    metric_names: Sequence[str] = ALL_METRICS,
) -> dict:
    """Scores `num` generated images against real images or statistics.

    Cheap to call repeatedly (e.g. every N training steps): build the
    extractor and the real statistics once and pass them in.

    Args:
        generator: Maps latents [N, latent_dim] to images in [-1, 1].
        real: Precomputed `RealStats`, or real uint8 images.
        extractor: The feature extractor (the one `real` was made with).
        num: Generated images scored.
        seed: Seed of the latents (same seed, same images).
        batch_size: Images per forward pass.
        metric_names: Any of "fid", "kid", "is", "pr".

    Returns:
        {"fid": {"value"}, "kid": {"value", "std", "stderr"},
         "is": {"value", "std"}, "pr": {"precision", "recall"}} for the
        metrics asked (IS only if the extractor gives probabilities).

    Example:
        >>> ext = ClassifierExtractor("mnist_classifier.keras")
        >>> real = real_stats(load_images(28, 1, data=path), ext)
        >>> evaluate_generator(generator, real, ext, num=1000)["fid"]
    """
    metric_names = check_metrics(metric_names)
    batch_size = _check_batch_size(batch_size)
    generator_shapes(generator)
    if not isinstance(real, RealStats):
        num, seed = _check_sources(real, extractor, num, seed)
        real = real_stats(real, extractor, num, batch_size, seed)
    if real.extractor_id != extractor.id:
        raise DataError(
            f"real statistics come from {real.extractor_id}, "
            f"not {extractor.id}; recompute them with this "
            "extractor."
        )
    if not isinstance(extractor, FeatureExtractor):
        raise DataError(
            f"extractor: a {type(extractor).__name__}, not a FeatureExtractor; "
            "make one with keras_dcgan.make_extractor."
        )
    num = bounds.check_int(num, 2, bounds.MAX_IMAGES, "num", DataError)
    seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    fake, probabilities = _fake_features(generator, extractor, num, seed, batch_size)
    return score_features(real, fake, probabilities, metric_names, seed)


def _check_sources(images, extractor, num, seed) -> tuple:
    """Refuses images, an extractor, a count or a seed of the wrong kind;
    returns (num, seed) as ints."""
    if not isinstance(extractor, FeatureExtractor):
        raise DataError(
            f"extractor: a {type(extractor).__name__}, not a FeatureExtractor; "
            "make one with keras_dcgan.make_extractor."
        )
    if not isinstance(images, (ImageData, np.ndarray)):
        raise DataError(
            f"real images: a {type(images).__name__}; give an ImageData, "
            "uint8 images [N, H, W, C] or RealStats."
        )
    num = bounds.check_int(num, 2, bounds.MAX_IMAGES, "num", DataError)
    seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    return num, seed


def _check_batch_size(batch_size) -> int:
    return bounds.check_int(
        batch_size, 1, bounds.MAX_EVAL_BATCH, "batch_size", DataError
    )


def _fake_features(generator, extractor, num, seed, batch_size):
    if num < 2:
        raise DataError(f"num={num}: metrics need at least 2 images.")
    stats = FeatureStats(seed=seed)
    probabilities = []
    z = sample_latents(num, generator.input_shape[-1], seed)
    for i in range(0, num, batch_size):
        features, probs = extractor(
            generate(generator, z[i : i + batch_size], batch_size)
        )
        stats.update(features)
        if probs is not None:
            probabilities.append(probs)
    return stats, (np.concatenate(probabilities) if probabilities else None)


def score_features(
    real: RealStats, fake: FeatureStats, probabilities, names, seed
) -> dict:
    """The metrics `names` (of `ALL_METRICS`) of generated images' features
    against the real ones', as `evaluate_generator` computes them.

    Args:
        real: The real images' statistics.
        fake: The generated images' features, accumulated.
        probabilities: The extractor's class probabilities of the generated
            images (None: IS is skipped, with a warning).
        names: The metrics to compute.
        seed: The seed of KID's subsets and precision/recall's sampling.

    Returns:
        {metric: {"value": ..., ...}}, as in an evaluation's JSON.
    """
    results = {}
    timer = time.perf_counter()
    if "fid" in names:
        dims = len(real.mu)
        if min(real.num_images, fake.count) <= dims:
            logger.warning(
                "FID from %d real and %d generated images of %d features: "
                "with no more images than features the covariances are "
                "singular and FID is mostly noise; raise num=.",
                real.num_images,
                fake.count,
                dims,
            )
        results["fid"] = {
            "value": metrics.frechet_distance(
                real.mu, real.sigma, fake.mean(), fake.covariance()
            )
        }
    if "kid" in names:
        results["kid"] = metrics.kernel_inception_distance(
            real.features, fake.kept(), seed=seed
        )
    if "is" in names:
        if probabilities is None:
            logger.warning("Extractor gives no probabilities; skipping IS.")
        else:
            results["is"] = metrics.inception_score(probabilities)
    if "pr" in names:
        results["pr"] = metrics.precision_recall(real.features, fake.kept())
    logger.debug("Metrics computed in %.1f s.", time.perf_counter() - timer)
    return results


def is_report(path: str) -> bool:
    """Whether `path` holds a report `evaluate_run` made (as JSON): only such
    a file `keras-dcgan evaluate --output` replaces."""
    try:
        read_json_object(
            path, MAX_REPORT_BYTES, {"run_dir": str, "extractor": str, "metrics": dict}
        )
    except (OSError, ValueError):
        return False
    return True


def evaluate_run(
    run_dir: str,
    images: ImageData | np.ndarray,
    extractor: FeatureExtractor,
    num: int = 10_000,
    seed: int = 0,
    batch_size: int = 100,
    metric_names: Sequence[str] = ALL_METRICS,
    stats_cache: str | None = None,
    source: str = "array",
    checkpoint: str | int | None = None,
    generator: str | None = None,
) -> dict:
    """Scores a run's generator; the report `keras-dcgan evaluate` writes.

    Args:
        run_dir: A training run (its generator.keras or checkpoint).
        images: The real uint8 images.
        extractor: The feature extractor.
        num: Images of each set scored.
        seed: Seed of latents and of the real sample.
        batch_size: Images per forward pass.
        metric_names: Any of "fid", "kid", "is", "pr".
        stats_cache: `.npz` to reuse/store the real statistics in.
        source: Name of the real images, recorded with the cache.
        checkpoint: Score this checkpoint's generator: "latest", "best" or
            a step (see `keras_dcgan.runs.load_generator`).
        generator: Of a run trained with `ema`: "ema" (the average, the
            default there) or "raw" (see `load_generator`).

    Returns:
        {"run_dir", "checkpoint", "generator", "extractor", "num_images",
         "real_images", "metrics", "seconds"}: JSON-ready; "generator" is
        "ema" or "raw" (None for a run without `config.json`).

    Example:
        >>> evaluate_run("runs/mnist", load_images(28, 1, data=path),
        ...              ClassifierExtractor("clf.keras"), num=1000)
    """
    from keras_dcgan.runs import load_generator
    from keras_dcgan.runs.selection import generator_of_run

    start = time.perf_counter()
    metric_names = check_metrics(metric_names)
    which = generator_of_run(run_dir, generator)
    model = load_generator(run_dir, checkpoint, which)
    real = real_stats(images, extractor, num, batch_size, seed, source, stats_cache)
    scores = evaluate_generator(
        model, real, extractor, num, seed, batch_size, metric_names
    )
    return {
        "run_dir": run_dir,
        "checkpoint": checkpoint,
        "generator": which,
        "extractor": extractor.id,
        "num_images": num,
        "real_images": real.num_images,
        "metrics": scores,
        "seconds": round(time.perf_counter() - start, 2),
    }
