"""Metrics against closed forms and independent references."""

import logging
import zipfile

import numpy as np
import pytest

from keras_dcgan.errors import MetricsError
from keras_dcgan.quality import metrics
from keras_dcgan.quality.evaluation import real_stats
from keras_dcgan.quality.features import FeatureExtractor
from keras_dcgan.quality.stats import FeatureStats, load_real_stats


def gaussian_stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def psd_sqrt(m):
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def closed_form_fid(mu1, s1, mu2, s2):
    # Tr((S1^1/2 S2 S1^1/2)^1/2), all by symmetric eigendecompositions.
    root1 = psd_sqrt(s1)
    cross = psd_sqrt(root1 @ s2 @ root1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * cross))


def random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(400, 16))
    mu, sigma = gaussian_stats(x)
    assert abs(metrics.frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_fid_matches_closed_form_between_gaussians():
    rng = np.random.default_rng(1)
    for d in (1, 4, 32):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = random_cov(rng, d), random_cov(rng, d)
        assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            closed_form_fid(mu1, s1, mu2, s2), rel=1e-7, abs=1e-9
        )
    # Same covariance: only the squared mean difference remains.
    assert metrics.frechet_distance(
        np.zeros(3), np.eye(3), np.ones(3), np.eye(3)
    ) == pytest.approx(3.0)


def test_fid_and_kid_are_symmetric_and_grow_with_mean_shift():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 8))
    y = rng.normal(size=(200, 8))
    a, b = gaussian_stats(x), gaussian_stats(y)
    assert metrics.frechet_distance(*a, *b) == pytest.approx(
        metrics.frechet_distance(*b, *a), rel=1e-9
    )
    assert metrics.polynomial_mmd2(x, y) == pytest.approx(
        metrics.polynomial_mmd2(y, x), rel=1e-9
    )
    fids, kids = [], []
    for shift in (0.0, 0.5, 1.0, 2.0):
        shifted = y + shift
        fids.append(metrics.frechet_distance(*a, *gaussian_stats(shifted)))
        kids.append(
            metrics.kernel_inception_distance(x, shifted, num_subsets=5)["value"]
        )
    assert fids == sorted(fids) and kids == sorted(kids)
    assert fids[-1] == pytest.approx(8 * 4.0, rel=0.2)


def test_singular_covariances_still_give_a_finite_fid():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 6)), rng.normal(size=(300, 6)) + 1
    x[:, 0] = y[:, 0] = 0.0  # a dead feature, as ReLU layers have
    fid = metrics.frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    assert np.isfinite(fid) and fid == pytest.approx(5.0, rel=0.3)


def test_fid_refuses_mismatched_statistics():
    with pytest.raises(MetricsError, match="same feature extractor"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_kid_is_unbiased_on_one_distribution():
    rng = np.random.default_rng(4)
    values = [
        metrics.kernel_inception_distance(
            rng.normal(size=(100, 16)),
            rng.normal(size=(100, 16)),
            num_subsets=1,
            seed=i,
        )["value"]
        for i in range(40)
    ]
    spread = np.std(values) / np.sqrt(len(values))
    assert abs(np.mean(values)) < 3 * spread
    # The same data shifted is clearly positive, far beyond that spread.
    far = metrics.kernel_inception_distance(
        rng.normal(size=(100, 16)), rng.normal(size=(100, 16)) + 1, num_subsets=1
    )["value"]
    assert far > 20 * spread


def test_kid_reports_spread_over_subsets():
    rng = np.random.default_rng(5)
    kid = metrics.kernel_inception_distance(
        rng.normal(size=(300, 4)),
        rng.normal(size=(300, 4)),
        subset_size=50,
        num_subsets=20,
    )
    assert kid["std"] > 0
    assert kid["stderr"] == pytest.approx(kid["std"] / np.sqrt(20))


def test_inception_score_closed_forms():
    uniform = np.full((100, 10), 0.1)
    assert metrics.inception_score(uniform)["value"] == pytest.approx(1.0)
    one_hot = np.eye(10)[np.arange(200) % 10]
    score = metrics.inception_score(one_hot, splits=4)
    assert score["value"] == pytest.approx(10.0)
    assert score["std"] == pytest.approx(0.0, abs=1e-9)
    # Confident but all one class: no diversity, score 1.
    assert metrics.inception_score(np.eye(10)[np.zeros(50, int)])[
        "value"
    ] == pytest.approx(1.0)


def test_inception_score_refuses_logits():
    with pytest.raises(MetricsError, match="softmax"):
        metrics.inception_score(np.random.default_rng(0).normal(size=(8, 3)))


def clusters(rng, centers, n, d=4):
    picks = rng.integers(0, len(centers), n)
    return rng.normal(size=(n, d)) * 0.5 + np.asarray(centers)[picks][:, None]


def test_precision_recall_on_planted_manifolds():
    rng = np.random.default_rng(6)
    centers = [0.0, 20.0, 40.0, 60.0]
    real = clusters(rng, centers, 800)
    same = metrics.precision_recall(real, clusters(rng, centers, 800), batch_size=128)
    assert same["precision"] > 0.9 and same["recall"] > 0.9
    far = metrics.precision_recall(real, clusters(rng, centers, 800) + 500)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    half = metrics.precision_recall(real, clusters(rng, centers[:2], 800))
    assert half["precision"] > 0.9
    assert half["recall"] == pytest.approx(0.5, abs=0.07)


def test_streaming_statistics_equal_all_at_once():
    x = np.random.default_rng(7).normal(size=(1000, 12)) * 3 + 100
    stats = FeatureStats(max_kept=50, seed=0)
    for start, stop in ((0, 7), (7, 400), (400, 1000)):
        stats.update(x[start:stop].astype(np.float32))
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(stats.mean(), x32.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        stats.covariance(), np.cov(x32, rowvar=False), rtol=1e-9, atol=1e-9
    )
    kept = stats.kept()
    assert kept.shape == (50, 12) and stats.count == 1000
    assert all(np.any(np.all(x.astype(np.float32) == row, axis=1)) for row in kept)


class MeanPixels(FeatureExtractor):
    """A stand-in extractor: per-row means of the image, counts its calls."""

    def __init__(self, id="mean_pixels"):
        self.id, self.calls = id, 0

    def _extract(self, images):
        self.calls += 1
        return images.mean(axis=(2, 3)).astype(np.float32), None


def test_stats_cache_is_reused_and_refused_for_other_inputs(tmp_path, caplog):
    images = np.random.default_rng(8).integers(0, 256, (40, 6, 6, 1), dtype=np.uint8)
    cache = str(tmp_path / "real.npz")
    first = MeanPixels()
    stats = real_stats(
        images, first, num=40, batch_size=16, cache=cache, source="blobs"
    )
    assert first.calls == 3
    again = MeanPixels()
    cached = real_stats(images, again, num=40, cache=cache, source="blobs")
    assert again.calls == 0
    np.testing.assert_array_equal(cached.sigma, stats.sigma)
    np.testing.assert_array_equal(cached.features, stats.features)
    assert cached.metadata() == {
        "extractor_id": "mean_pixels",
        "num_images": 40,
        "source": "blobs",
    }

    caplog.set_level(logging.INFO, logger="keras_dcgan")
    other = MeanPixels("other")
    real_stats(images, other, num=40, cache=cache, source="blobs")
    assert other.calls > 0 and "made for other inputs" in caplog.text
    assert "extractor_id" in caplog.text
    # The cache now holds the new extractor's statistics.
    assert load_real_stats(cache, {"extractor_id": "other"})
    assert load_real_stats(cache, {"source": "elsewhere"}) is None


def test_unreadable_cache_is_recomputed(tmp_path):
    """A cache the tool wrote that cannot be read (its metadata garbage) is
    recomputed; a file that is no cache at all is refused and kept
    (issue 21, point 4: it may be the user's own data)."""
    cache = tmp_path / "real.npz"
    np.savez(cache, mu=np.zeros(2), sigma=np.eye(2), features=np.zeros((2, 2)))
    with zipfile.ZipFile(cache, "a") as archive:
        archive.writestr("metadata.npy", b"not an array")
    assert load_real_stats(str(cache)) is None
    foreign = tmp_path / "notes.npz"
    foreign.write_text("not an npz")
    with pytest.raises(MetricsError, match="not a statistics cache"):
        load_real_stats(str(foreign))
    assert foreign.read_text() == "not an npz"
