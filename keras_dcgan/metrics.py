"""Sample-quality metrics on extracted features: FID, KID, IS, precision/recall.

Everything here is NumPy math on feature vectors (and class probabilities);
`keras_dcgan.features` turns images into those, `keras_dcgan.evaluation`
runs a generator through both. Statistics are kept in float64: covariance
sums over 10,000 images of 2,048 features lose digits in float32, and the
matrix square root in FID magnifies any such error.

See docs/METRICS.md for what the numbers mean and how to read them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import warnings
from typing import Optional

import numpy as np
import scipy.linalg

logger = logging.getLogger(__name__)

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100
PR_NEIGHBOURS = 3
MAX_KEPT_FEATURES = 10_000
# pytorch-fid / TF-GAN refuse a complex sqrtm beyond this imaginary part.
SQRTM_IMAG_TOLERANCE = 1e-3


class MetricsError(ValueError):
    """Metric inputs are unusable; the message says what to change."""


class FeatureStats:
    """Streaming mean and covariance of features, plus a random subsample.

    Sums and sums of outer products are accumulated in float64, so the
    statistics of any number of images need O(d^2) memory. A reservoir
    sample of at most `max_kept` feature rows is kept for the metrics that
    need individual vectors (KID, precision/recall).

    Example:
        >>> stats = FeatureStats(seed=0)
        >>> for batch in batches:
        ...     stats.update(extract(batch))
        >>> mu, sigma = stats.mean(), stats.covariance()
    """

    def __init__(self, max_kept: int = MAX_KEPT_FEATURES, seed: int = 0):
        self.count = 0
        self._sum = None
        self._outer = None
        self._kept: list = []
        self._max_kept = max_kept
        self._rng = np.random.default_rng(seed)

    def update(self, features) -> None:
        """Adds a batch of feature rows [n, d]."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or not np.all(np.isfinite(x)):
            raise MetricsError(f"features must be finite [n, d]; got shape "
                               f"{x.shape} (NaN/inf present: "
                               f"{not np.all(np.isfinite(x))}).")
        if self._sum is None:
            self._sum = np.zeros(x.shape[1])
            self._outer = np.zeros((x.shape[1], x.shape[1]))
        self._sum += x.sum(axis=0)
        self._outer += x.T @ x
        for row in x.astype(np.float32):
            self._keep(row)
            self.count += 1

    def _keep(self, row: np.ndarray) -> None:
        # Reservoir sampling (Algorithm R): a uniform sample of any stream.
        if len(self._kept) < self._max_kept:
            self._kept.append(row)
            return
        slot = self._rng.integers(0, self.count + 1)
        if slot < self._max_kept:
            self._kept[slot] = row

    def mean(self) -> np.ndarray:
        """float64 mean [d]."""
        self._need(1)
        return self._sum / self.count

    def covariance(self) -> np.ndarray:
        """float64 unbiased covariance [d, d], as `np.cov(x, rowvar=False)`."""
        self._need(2)
        mu = self.mean()
        return (self._outer - self.count * np.outer(mu, mu)) / (self.count - 1)

    def kept(self) -> np.ndarray:
        """The subsample of feature rows, float32 [min(count, max_kept), d]."""
        self._need(1)
        return np.stack(self._kept)

    def _need(self, n: int) -> None:
        if self.count < n:
            raise MetricsError(f"statistics need at least {n} feature rows; "
                               f"got {self.count}. Evaluate more images.")


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between two Gaussians N(mu1, sigma1), N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).
    Like pytorch-fid and TF-GAN: when the product is near-singular (the
    square root is not finite) `eps` is added to both diagonals; a square
    root whose imaginary part is more than round-off is an error.

    Args:
        mu1, mu2: Means [d].
        sigma1, sigma2: Covariances [d, d].
        eps: Diagonal offset used only when the plain square root fails.

    Returns:
        The squared distance (FID when the inputs are Inception statistics).

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
        2.0
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or \
            sigma1.shape != (mu1.size, mu1.size):
        raise MetricsError(
            f"statistics do not match: means {mu1.shape} and {mu2.shape}, "
            f"covariances {sigma1.shape} and {sigma2.shape}. Both sets must "
            "come from the same feature extractor.")
    diff = mu1 - mu2
    covmean, singular = _sqrtm(sigma1 @ sigma2)
    if singular or not np.all(np.isfinite(covmean)):
        # Dead features (e.g. ReLU units never active) make covariances
        # singular; a small ridge gives a well-defined root.
        logger.info("FID: product of covariances is near-singular; adding "
                    "%g to the diagonals.", eps)
        offset = np.eye(len(mu1)) * eps
        covmean, _ = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(np.diagonal(covmean).imag))
        if not np.allclose(np.diagonal(covmean).imag, 0,
                           atol=SQRTM_IMAG_TOLERANCE):
            raise MetricsError(
                f"FID: matrix square root has imaginary part {imag:.3g}; the "
                "covariances are numerically unusable. Use more images than "
                "feature dimensions.")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2)
                 - 2.0 * np.trace(covmean))


def _sqrtm(matrix: np.ndarray) -> tuple:
    """scipy's sqrtm, and whether it warned that the matrix is singular."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning)
                   for w in caught)
    return root, singular


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    # The unbiased estimator leaves out k(x_i, x_i) terms.
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.mean())


def kernel_inception_distance(real, fake, subset_size: int = KID_SUBSET_SIZE,
                              num_subsets: int = KID_SUBSETS,
                              seed: int = 0) -> dict:
    """KID (Binkowski et al., 2018): unbiased polynomial-kernel MMD^2.

    Averaged over `num_subsets` random subsets of min(`subset_size`, n) rows
    of each set, as the reference implementation does.

    Args:
        real, fake: Feature rows [n, d] and [m, d].
        subset_size: Rows per subset (capped by the smaller set).
        num_subsets: Subsets averaged.
        seed: Seed of the subset draw.

    Returns:
        {"value": mean, "std": std over subsets, "stderr": std / sqrt(count)}.
        Subsets overlap, so "stderr" understates the true error somewhat.

    Example:
        >>> kernel_inception_distance(real_features, fake_features)["value"]
    """
    real, fake = np.asarray(real), np.asarray(fake)
    size = min(subset_size, len(real), len(fake))
    if size < 2 or real.shape[1:] != fake.shape[1:]:
        raise MetricsError(f"KID needs at least 2 feature rows of equal size "
                           f"per set; got {real.shape} and {fake.shape}.")
    rng = np.random.default_rng(seed)
    values = np.array([
        polynomial_mmd2(real[rng.choice(len(real), size, replace=False)],
                        fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(num_subsets)])
    std = float(values.std(ddof=1)) if num_subsets > 1 else 0.0
    return {"value": float(values.mean()), "std": std,
            "stderr": float(std / np.sqrt(num_subsets))}


def inception_score(probabilities, splits: int = 10) -> dict:
    """Inception Score exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

    With a domain classifier's softmax instead of Inception's this is the
    "classifier score" (TF-GAN's `mnist_score`): 1 for uninformative
    predictions, up to the class count for confident, balanced ones.

    Args:
        probabilities: Class probabilities [n, classes]; rows sum to 1.
        splits: Disjoint parts scored separately (capped at n).

    Returns:
        {"value": mean over splits, "std": std over splits}.

    Example:
        >>> inception_score(np.eye(10)[np.arange(100) % 10], splits=1)
        {'value': 10.000000000000002, 'std': 0.0}
    """
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or len(p) == 0 or np.any(p < 0) or \
            not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise MetricsError(f"Inception Score needs probabilities [n, classes] "
                           f"whose rows sum to 1; got shape {p.shape}. Pass "
                           "softmax outputs, not logits.")
    scores = []
    for part in np.array_split(p, max(1, min(splits, len(p)))):
        marginal = part.mean(axis=0)
        # 0 * log 0 = 0: empty classes add nothing.
        logs = np.log(np.where(part > 0, part, 1.0)) - \
            np.log(np.where(marginal > 0, marginal, 1.0))
        scores.append(np.exp(np.mean(np.sum(part * logs, axis=1))))
    return {"value": float(np.mean(scores)), "std": float(np.std(scores))}


classifier_score = inception_score


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :]
          - 2.0 * a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))


def _knn_radii(x: np.ndarray, k: int, batch_size: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row."""
    radii = np.empty(len(x))
    for i in range(0, len(x), batch_size):
        d = _pairwise_distances(x[i:i + batch_size], x)
        # Column k, not k - 1: each row's nearest neighbour is itself.
        radii[i:i + batch_size] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray,
              batch_size: int) -> float:
    """Fraction of `probes` inside at least one ball around `manifold`."""
    inside = 0
    for i in range(0, len(probes), batch_size):
        d = _pairwise_distances(probes[i:i + batch_size], manifold)
        inside += int(np.sum(np.any(d <= radii[None, :], axis=1)))
    return inside / len(probes)


def precision_recall(real, fake, k: int = PR_NEIGHBOURS,
                     batch_size: int = 1000) -> dict:
    """Improved precision and recall (Kynkaanniemi et al., 2019).

    Each set's manifold is the union of balls around its points reaching
    the k-th nearest neighbour. Precision: share of fakes on the real
    manifold (fidelity). Recall: share of reals on the fake one (coverage).
    Distances are computed `batch_size` rows at a time, so memory stays at
    batch_size x n.

    Args:
        real, fake: Feature rows [n, d] and [m, d].
        k: Neighbour that sets each ball's radius.
        batch_size: Rows per distance block.

    Returns:
        {"precision": float, "recall": float}.

    Example:
        >>> precision_recall(real_features, fake_features)
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if min(len(real), len(fake)) <= k or real.shape[1:] != fake.shape[1:]:
        raise MetricsError(f"precision/recall with k={k} needs more than {k} "
                           f"feature rows of equal size per set; got "
                           f"{real.shape} and {fake.shape}.")
    real_radii = _knn_radii(real, k, batch_size)
    fake_radii = _knn_radii(fake, k, batch_size)
    return {"precision": _coverage(real, real_radii, fake, batch_size),
            "recall": _coverage(fake, fake_radii, real, batch_size)}


@dataclasses.dataclass
class RealStats:
    """What the metrics need of the real images, cacheable to `.npz`.

    Attributes:
        mu, sigma: float64 feature mean and covariance.
        features: A random subsample of feature rows (KID, precision/recall).
        extractor_id: Which extractor made the features.
        num_images: Images the statistics cover.
        source: Where the images came from (file, dataset name).
    """

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray
    extractor_id: str
    num_images: int
    source: str

    @classmethod
    def from_stats(cls, stats: FeatureStats, extractor_id: str,
                   source: str) -> "RealStats":
        return cls(stats.mean(), stats.covariance(), stats.kept(),
                   extractor_id, stats.count, source)

    def metadata(self) -> dict:
        return {"extractor_id": self.extractor_id,
                "num_images": self.num_images, "source": self.source}


def save_real_stats(stats: RealStats, path: str) -> None:
    """Writes real statistics to `.npz` atomically (no pickled objects)."""
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{name}")
    with open(tmp, "wb") as f:
        np.savez(f, mu=stats.mu, sigma=stats.sigma, features=stats.features,
                 metadata=np.array(json.dumps(stats.metadata())))
    os.replace(tmp, path)


def load_real_stats(path: str, expect: Optional[dict] = None
                    ) -> Optional[RealStats]:
    """Reads a statistics cache; None if missing or made for other inputs.

    Args:
        path: The `.npz` file.
        expect: Metadata the cache must match (extractor_id, num_images,
            source); a mismatch is logged and None returned, so the caller
            recomputes.

    Returns:
        The cached `RealStats`, or None.
    """
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["metadata"]))
            stats = RealStats(f["mu"], f["sigma"], f["features"], **meta)
    except (OSError, ValueError, KeyError, TypeError) as e:
        logger.warning("Stats cache %s is unreadable (%s); recomputing.",
                       path, e)
        return None
    differ = {k: (meta.get(k), v) for k, v in (expect or {}).items()
              if meta.get(k) != v}
    if differ:
        logger.info("Stats cache %s was made for other inputs (%s); "
                    "recomputing.", path, "; ".join(
                        f"{k}: cache {a!r}, now {b!r}"
                        for k, (a, b) in differ.items()))
        return None
    logger.info("Real statistics from cache %s.", path)
    return stats
