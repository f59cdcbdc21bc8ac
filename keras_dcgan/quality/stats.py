"""Feature statistics: streaming accumulation and the real-statistics cache.

`FeatureStats` folds feature batches into float64 sums, so the mean and
covariance of any number of images need O(d^2) memory; `RealStats` is what
the metrics need of the real images, saved to and reloaded from `.npz` with
metadata (extractor, image count, source) so that a cache made for other
inputs is never used. `keras_dcgan.quality.metrics` re-exports these names.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import zipfile

import numpy as np

from keras_dcgan.atomic import atomic_write
from keras_dcgan.errors import MetricsError
from keras_dcgan.reading import open_regular
from keras_dcgan.runs import ownership

logger = logging.getLogger(__name__)

MAX_KEPT_FEATURES = 10_000


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
            raise MetricsError(
                f"features must be finite [n, d]; got shape "
                f"{x.shape} (NaN/inf present: "
                f"{not np.all(np.isfinite(x))})."
            )
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
            raise MetricsError(
                f"statistics need at least {n} feature rows; "
                f"got {self.count}. Evaluate more images."
            )


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
    def from_stats(
        cls, stats: FeatureStats, extractor_id: str, source: str
    ) -> RealStats:
        return cls(
            stats.mean(),
            stats.covariance(),
            stats.kept(),
            extractor_id,
            stats.count,
            source,
        )

    def metadata(self) -> dict:
        return {
            "extractor_id": self.extractor_id,
            "num_images": self.num_images,
            "source": self.source,
        }


# The members of a cache `save_real_stats` writes, and of no other file.
CACHE_MEMBERS = frozenset({"mu.npy", "sigma.npy", "features.npy", "metadata.npy"})


def is_stats_cache(path: str) -> bool:
    """Whether `path` is a regular `.npz` file holding exactly the members
    of a statistics cache (read from its zip directory only)."""
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as archive:
            return set(archive.namelist()) == CACHE_MEMBERS
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def check_stats_cache(path: str) -> None:
    """Refuses a cache path that would replace what is not a cache.

    A statistics cache is written only where no file is, or over a cache
    written before (recognised by its members), and never inside a run
    directory (a folder with the run marker, or below one).

    Raises:
        MetricsError: With the fix; nothing was written.
    """
    run = ownership.enclosing_run(path)
    if run is not None:
        raise MetricsError(
            f"stats_cache={path} is inside the run {run}, which holds only "
            "what training writes; name a file outside it."
        )
    if os.path.lexists(path) and not is_stats_cache(path):
        raise MetricsError(
            f"stats_cache={path} exists and is not a statistics cache "
            "keras-dcgan wrote (an .npz of exactly mu, sigma, features and "
            "metadata); it is not replaced. Name a new file, or move it away."
        )


def save_real_stats(stats: RealStats, path: str) -> None:
    """Writes real statistics to `.npz` atomically (no pickled objects).

    Raises:
        MetricsError: `path` is not a cache to replace (`check_stats_cache`).
    """
    check_stats_cache(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            mu=stats.mu,
            sigma=stats.sigma,
            features=stats.features,
            metadata=np.array(json.dumps(stats.metadata())),
        )


def load_real_stats(path: str, expect: dict | None = None) -> RealStats | None:
    """Reads a statistics cache; None if missing or made for other inputs.

    Args:
        path: The `.npz` file.
        expect: Metadata the cache must match (extractor_id, num_images,
            source); a mismatch is logged and None returned, so the caller
            recomputes.

    Returns:
        The cached `RealStats`, or None.

    Raises:
        MetricsError: `path` holds something else (`check_stats_cache`).
    """
    if not os.path.lexists(path):
        return None
    check_stats_cache(path)  # only a cache is read (and then replaced)
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["metadata"]))
            stats = RealStats(f["mu"], f["sigma"], f["features"], **meta)
    except (OSError, ValueError, KeyError, TypeError) as e:
        logger.warning("Stats cache %s is unreadable (%s); recomputing.", path, e)
        return None
    differ = {
        k: (meta.get(k), v) for k, v in (expect or {}).items() if meta.get(k) != v
    }
    if differ:
        logger.info(
            "Stats cache %s was made for other inputs (%s); recomputing.",
            path,
            "; ".join(f"{k}: cache {a!r}, now {b!r}" for k, (a, b) in differ.items()),
        )
        return None
    logger.info("Real statistics from cache %s.", path)
    return stats
