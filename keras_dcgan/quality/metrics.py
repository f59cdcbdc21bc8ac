"""Sample-quality metrics on features: FID, KID, IS, precision/recall.

Everything here is NumPy math on feature vectors (and class probabilities);
`keras_dcgan.quality.features` turns images into those, `keras_dcgan.quality.evaluation`
runs a generator through both. Statistics are kept in float64: covariance
sums over 10,000 images of 2,048 features lose digits in float32, and the
matrix square root in FID magnifies any such error.

See docs/METRICS.md for what the numbers mean and how to read them.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.linalg

from keras_dcgan import bounds
from keras_dcgan.data.preprocess import available_memory_bytes
from keras_dcgan.errors import MetricsError

logger = logging.getLogger(__name__)

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100
PR_NEIGHBOURS = 3
# pytorch-fid / TF-GAN refuse a complex sqrtm beyond this imaginary part.
SQRTM_IMAG_TOLERANCE = 1e-3


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between two Gaussians N(mu1, sigma1), N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).
    Like pytorch-fid and TF-GAN: when the product is near-singular (scipy
    warns, or the root is not finite) `eps` is added to both diagonals; a
    root whose imaginary part is more than round-off is an error, else its
    real part is used.

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
    eps = bounds.check_float(eps, 0.0, 1.0, "eps", MetricsError)
    mu1, mu2 = (_values(m, name, 1) for m, name in ((mu1, "mu1"), (mu2, "mu2")))
    sigma1, sigma2 = (
        _values(m, name, 2) for m, name in ((sigma1, "sigma1"), (sigma2, "sigma2"))
    )
    if (
        mu1.shape != mu2.shape
        or sigma1.shape != sigma2.shape
        or sigma1.shape != (mu1.size, mu1.size)
    ):
        raise MetricsError(
            f"statistics do not match: means {mu1.shape} and {mu2.shape}, "
            f"covariances {sigma1.shape} and {sigma2.shape}. Both sets must "
            "come from the same feature extractor."
        )
    diff = mu1 - mu2
    covmean, singular = _sqrtm(sigma1 @ sigma2)
    if singular or not np.all(np.isfinite(covmean)):
        # Dead features (e.g. ReLU units never active) make covariances
        # singular; a small ridge gives a well-defined root.
        logger.info(
            "FID: product of covariances is near-singular; adding %g to the diagonals.",
            eps,
        )
        offset = np.eye(len(mu1)) * eps
        covmean, _ = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(np.diagonal(covmean).imag))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=SQRTM_IMAG_TOLERANCE):
            raise MetricsError(
                f"FID: matrix square root has imaginary part {imag:.3g}; the "
                "covariances are numerically unusable. Use more images than "
                "feature dimensions."
            )
        covmean = covmean.real
    return float(
        diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    )


def _values(value, name: str, ndim: int) -> np.ndarray:
    """Finite float64 statistics (a mean [d], a covariance [d, d]), d at
    most `bounds.MAX_FEATURES`; a scalar is taken as [1] or [1, 1]."""
    array = bounds.finite_array(
        value,
        name,
        MetricsError,
        max_elements=bounds.MAX_FEATURES**ndim,
        dtype=np.float64,
    )
    array = np.atleast_1d(array) if ndim == 1 else np.atleast_2d(array)
    if array.ndim != ndim or array.shape[-1] > bounds.MAX_FEATURES:
        raise MetricsError(
            f"{name}: shape {array.shape}; expected {ndim} dimensions of at "
            f"most {bounds.MAX_FEATURES} features."
        )
    return array


def _features(value, name: str) -> np.ndarray:
    """Finite float64 feature rows [n, d], d at most `bounds.MAX_FEATURES`
    and n at most `bounds.MAX_IMAGES`."""
    array = bounds.finite_array(
        value,
        name,
        MetricsError,
        ndim=2,
        max_elements=bounds.MAX_IMAGES * bounds.MAX_FEATURES,
        dtype=np.float64,
    )
    if len(array) > bounds.MAX_IMAGES or array.shape[1] > bounds.MAX_FEATURES:
        raise MetricsError(
            f"{name}: {array.shape}; use at most {bounds.MAX_IMAGES} rows of "
            f"at most {bounds.MAX_FEATURES} features."
        )
    return array


def _sqrtm(matrix: np.ndarray) -> tuple:
    """scipy's sqrtm, and whether it warned that the matrix is singular."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    return root, singular


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3.

    Raises:
        MetricsError: Not finite feature rows of one size, fewer than 2 or
            more than `bounds.MAX_KID_SUBSET` per set (the kernels are n^2).
    """
    x, y = _features(x, "x"), _features(y, "y")
    if (
        not 2 <= min(len(x), len(y))
        or max(len(x), len(y)) > bounds.MAX_KID_SUBSET
        or x.shape[1] != y.shape[1]
    ):
        raise MetricsError(
            f"MMD needs 2 to {bounds.MAX_KID_SUBSET} feature rows of equal "
            f"size per set; got {x.shape} and {y.shape}."
        )
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    # The unbiased estimator leaves out k(x_i, x_i) terms.
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.mean())


def kernel_inception_distance(
    real,
    fake,
    subset_size: int = KID_SUBSET_SIZE,
    num_subsets: int = KID_SUBSETS,
    seed: int = 0,
) -> dict:
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
    real, fake = _features(real, "real"), _features(fake, "fake")
    subset_size = bounds.check_int(
        subset_size, 2, bounds.MAX_KID_SUBSET, "subset_size", MetricsError
    )
    num_subsets = bounds.check_int(
        num_subsets, 1, bounds.MAX_SUBSETS, "num_subsets", MetricsError
    )
    seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", MetricsError)
    size = min(subset_size, len(real), len(fake))
    if size < 2 or real.shape[1:] != fake.shape[1:]:
        raise MetricsError(
            f"KID needs at least 2 feature rows of equal size "
            f"per set; got {real.shape} and {fake.shape}."
        )
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            polynomial_mmd2(
                real[rng.choice(len(real), size, replace=False)],
                fake[rng.choice(len(fake), size, replace=False)],
            )
            for _ in range(num_subsets)
        ]
    )
    std = float(values.std(ddof=1)) if num_subsets > 1 else 0.0
    return {
        "value": float(values.mean()),
        "std": std,
        "stderr": float(std / np.sqrt(num_subsets)),
    }


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
    splits = bounds.check_int(splits, 1, bounds.MAX_IMAGES, "splits", MetricsError)
    p = _features(probabilities, "probabilities")
    if (
        p.ndim != 2
        or len(p) == 0
        or np.any(p < 0)
        or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3)
    ):
        raise MetricsError(
            f"Inception Score needs probabilities [n, classes] "
            f"whose rows sum to 1; got shape {p.shape}. Pass "
            "softmax outputs, not logits."
        )
    scores = []
    for part in np.array_split(p, max(1, min(splits, len(p)))):
        marginal = part.mean(axis=0)
        # 0 * log 0 = 0: empty classes add nothing.
        logs = np.log(np.where(part > 0, part, 1.0)) - np.log(
            np.where(marginal > 0, marginal, 1.0)
        )
        scores.append(np.exp(np.mean(np.sum(part * logs, axis=1))))
    return {"value": float(np.mean(scores)), "std": float(np.std(scores))}


def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _knn_radii(x: np.ndarray, k: int, batch_size: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row."""
    radii = np.empty(len(x))
    for i in range(0, len(x), batch_size):
        d = _pairwise_distances(x[i : i + batch_size], x)
        # Column k, not k - 1: each row's nearest neighbour is itself.
        radii[i : i + batch_size] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(
    manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray, batch_size: int
) -> float:
    """Fraction of `probes` inside at least one ball around `manifold`."""
    inside = 0
    for i in range(0, len(probes), batch_size):
        d = _pairwise_distances(probes[i : i + batch_size], manifold)
        inside += int(np.sum(np.any(d <= radii[None, :], axis=1)))
    return inside / len(probes)


def precision_recall(
    real, fake, k: int = PR_NEIGHBOURS, batch_size: int = 1000
) -> dict:
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
    real, fake = _features(real, "real"), _features(fake, "fake")
    k = bounds.check_int(k, 1, bounds.MAX_NEIGHBOURS_PR, "k", MetricsError)
    batch_size = bounds.check_int(
        batch_size, 1, bounds.MAX_EVAL_BATCH * 16, "batch_size", MetricsError
    )
    if min(len(real), len(fake)) <= k or real.shape[1:] != fake.shape[1:]:
        raise MetricsError(
            f"precision/recall with k={k} needs more than {k} "
            f"feature rows of equal size per set; got "
            f"{real.shape} and {fake.shape}."
        )
    needed = (
        3 * 8 * min(batch_size, max(len(real), len(fake))) * max(len(real), len(fake))
    )
    if needed > available_memory_bytes():
        raise MetricsError(
            f"precision/recall: distance blocks of {batch_size} rows need "
            f"{needed / 2**30:.1f} GiB, more than is available; lower batch_size."
        )
    real_radii = _knn_radii(real, k, batch_size)
    fake_radii = _knn_radii(fake, k, batch_size)
    return {
        "precision": _coverage(real, real_radii, fake, batch_size),
        "recall": _coverage(fake, fake_radii, real, batch_size),
    }
