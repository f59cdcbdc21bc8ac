"""Latent walks, latent arithmetic and the nearest-neighbour check."""

import numpy as np
import pytest
from helpers import make_images
from PIL import Image

from keras_dcgan.errors import DataError
from keras_dcgan.generator import explore, latent, nearest
from keras_dcgan.networks import build_generator


@pytest.fixture(scope="module")
def generator():
    from helpers import TINY

    from keras_dcgan.config import DCGANConfig

    return build_generator(DCGANConfig(**TINY))


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolation_ends_are_the_inputs(method):
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 16)).astype(np.float32)
    path = explore.interpolate(z0, z1, 7, method)
    assert path.shape == (7, 16) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], z0)
    np.testing.assert_array_equal(path[-1], z1)


def test_slerp_keeps_the_norm_and_lerp_does_not():
    rng = np.random.default_rng(1)
    z0, z1 = rng.standard_normal((2, 100))
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    norms = np.linalg.norm(explore.interpolate(z0, z1, 9, "slerp"), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(z0), rtol=1e-5)
    lerp = np.linalg.norm(explore.interpolate(z0, z1, 9, "lerp"), axis=1)
    assert lerp[4] < 0.8 * np.linalg.norm(z0)  # cuts through the inside


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    z = np.ones(4, np.float32)
    path = explore.interpolate(z, 2 * z, 3, "slerp")
    np.testing.assert_allclose(path[1], 1.5 * z)
    assert np.all(np.isfinite(path))


def test_interpolation_rejects_bad_arguments():
    with pytest.raises(DataError, match="slerp"):
        explore.interpolate(np.ones(2), np.ones(2), 3, "cubic")
    with pytest.raises(DataError, match="steps="):
        explore.interpolate(np.ones(2), np.ones(2), 1)


def test_interpolation_grid_and_figures(generator, tmp_path):
    walks = explore.interpolation_grid(generator, rows=2, steps=5, seed=3)
    assert walks.shape == (2, 5, 28, 28, 1) and walks.dtype == np.uint8
    again = explore.interpolation_grid(generator, rows=2, steps=5, seed=3)
    np.testing.assert_array_equal(walks, again)
    explore.save_interpolation(walks, str(tmp_path / "w.png"))
    assert Image.open(tmp_path / "w.png").size == (152, 62)
    explore.save_interpolation(walks, str(tmp_path / "w.gif"))
    gif = Image.open(tmp_path / "w.gif")
    assert gif.n_frames == 8  # 5 forth, 3 back


def test_arithmetic_on_known_latents():
    latents = np.zeros((9, 3), np.float32)
    latents[0:3] = [[1, 0, 0], [3, 0, 0], [2, 0, 0]]  # A = (2, 0, 0)
    latents[3:6] = [[0, 1, 0], [0, 2, 0], [0, 3, 0]]  # B = (0, 2, 0)
    latents[6:9] = [[0, 0, 5], [0, 0, 5], [0, 0, 2]]  # C = (0, 0, 4)
    result = explore.latent_arithmetic(
        latents,
        plus_groups=[[0, 1, 2], [6, 7, 8]],
        minus_groups=[[3, 4, 5]],
        num_variations=4,
        noise=0.25,
        seed=0,
    )
    np.testing.assert_allclose(result.result, [2, -2, 4])
    np.testing.assert_allclose(result.means, [[2, 0, 0], [0, 2, 0], [0, 0, 4]])
    assert result.signs == [1, -1, 1]  # displayed as A - B + C
    assert result.variations.shape == (5, 3)
    np.testing.assert_array_equal(result.variations[0], result.result)
    jitter = result.variations[1:] - result.result
    assert np.all(np.abs(jitter) <= 0.25) and np.any(jitter != 0)


def test_arithmetic_rejects_bad_indices():
    with pytest.raises(DataError, match="holds 4 vectors"):
        explore.latent_arithmetic(np.zeros((4, 2)), [[0, 9]])
    with pytest.raises(DataError, match="plus_groups="):
        explore.latent_arithmetic(np.zeros((4, 2)), [])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_variations": 0},
        {"num_variations": 10**8},
        {"num_variations": 2.5},
        {"noise": float("nan")},
        {"noise": float("inf")},
        {"noise": -1.0},
        {"noise": 1e308},
    ],
)
def test_arithmetic_refuses_unbounded_variations_and_noise(kwargs):
    (parameter,) = kwargs  # named as the caller passed it
    with pytest.raises(DataError, match=f"^{parameter}="):
        explore.latent_arithmetic(np.zeros((4, 2)), [[0, 1]], **kwargs)


def test_arithmetic_refuses_more_groups_than_a_figure_shows():
    latents = np.zeros((100, 2))
    with pytest.raises(DataError, match="17 groups"):
        explore.latent_arithmetic(latents, [[0]] * 9, [[1]] * 8)
    with pytest.raises(DataError, match="1 to 64"):
        explore.latent_arithmetic(latents, [list(range(65))])


@pytest.mark.parametrize("rows,steps", [(100, 100), (3000, 2), (0, 10), (2, 1)])
def test_interpolation_grid_refuses_pictures_too_large(generator, rows, steps):
    with pytest.raises(DataError, match="rows=|steps="):
        explore.interpolation_grid(generator, rows, steps, seed=0)


@pytest.mark.parametrize(
    "num,seed", [(10**9, 0), (-1, 0), (2.5, 0), (2, -1), (2, 2**31), (2, 1.5)]
)
def test_sample_latents_refuses_bad_counts_and_seeds(num, seed):
    with pytest.raises(DataError, match="num=|seed="):
        latent.sample_latents(num, 8, seed)


def test_sample_latents_takes_numpy_integers():
    z = latent.sample_latents(np.int64(3), 8, np.int64(5))
    np.testing.assert_array_equal(z, latent.sample_latents(3, 8, 5))


def test_load_latents_checks_the_header_before_reading(tmp_path):
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as f:  # claims 10^12 vectors, holds 16
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 8)}
        )
        f.write(np.zeros((16, 8), np.float32).tobytes())
    with pytest.raises(DataError, match="path="):
        latent.load_latents(str(huge), 8)
    np.save(tmp_path / "nan.npy", np.full((2, 8), np.nan, np.float32))
    with pytest.raises(DataError, match="NaN"):
        latent.load_latents(str(tmp_path / "nan.npy"), 8)
    np.save(tmp_path / "ok.npy", np.ones((2, 8), np.float64))
    z = latent.load_latents(str(tmp_path / "ok.npy"), 8)
    assert z.dtype == np.float32 and z.shape == (2, 8)


def test_arithmetic_figure(generator, tmp_path, monkeypatch):
    from matplotlib import pyplot as plt

    from keras_dcgan.generator.latent import generate
    from keras_dcgan.visualize import image_grid

    latents = np.random.default_rng(0).standard_normal((9, 8))
    result = explore.latent_arithmetic(
        latents, [[0, 1, 2], [6, 7, 8]], [[3, 4, 5]], num_variations=5, seed=0
    )
    figures = []  # the figure, kept open to read what it shows
    monkeypatch.setattr(plt, "close", figures.append)
    explore.save_arithmetic(generator, result, str(tmp_path / "a.png"))
    assert Image.open(tmp_path / "a.png").size == (900, 620)  # 9 x 6.2 in
    cells = {}
    for ax in figures[0].axes:
        spec = ax.get_subplotspec()
        cells[spec.rowspan.start, spec.colspan.start] = ax.images[0].get_array()
    # One row per group (its images | their average), then the result row
    # (its variations | the result itself): 4 rows of 2.
    assert sorted(cells) == [(r, c) for r in range(4) for c in range(2)]

    def shown(z):
        return image_grid(generate(generator, z), columns=len(z))[..., 0]

    for row, (group, mean) in enumerate(zip(result.groups, result.means)):
        np.testing.assert_array_equal(cells[row, 0], shown(group))
        np.testing.assert_array_equal(cells[row, 1], shown(mean[None]))
    np.testing.assert_array_equal(cells[3, 0], shown(result.variations[1:]))
    np.testing.assert_array_equal(cells[3, 1], shown(result.result[None]))
    assert cells[3, 0].shape[1] == 5 * 30 + 2  # the 5 variations


def test_nearest_finds_a_planted_duplicate(tmp_path):
    train = make_images(50, seed=1)[..., None]
    samples = make_images(4, seed=2)[..., None]
    samples[2] = train[17]
    idx, dist = nearest.nearest_neighbours(samples, train, k=3)
    assert idx.shape == dist.shape == (4, 3)
    assert idx[2, 0] == 17 and dist[2, 0] == 0.0
    assert np.all(np.diff(dist, axis=1) >= 0)
    diff = (samples[:, None].astype(float) - train[None].astype(float)) / 255
    brute = np.sqrt((diff**2).sum(axis=(2, 3, 4)))
    np.testing.assert_array_equal(idx[:, 0], brute.argmin(1))
    np.testing.assert_allclose(dist[:, 0], brute.min(1), rtol=1e-5)
    nearest.save_nearest(samples, train, idx, str(tmp_path / "n.png"))
    picture = np.asarray(Image.open(tmp_path / "n.png"))
    assert picture.shape == (4 * 30 + 2, 2 + 28 + 6 + 3 * 30 + 6)
    for i in range(4):  # each line: the sample, a gap, its 3 neighbours
        top = 2 + 30 * i
        np.testing.assert_array_equal(picture[top : top + 28, 2:30], samples[i, ..., 0])
        for j in range(3):
            left = 36 + 30 * j
            np.testing.assert_array_equal(
                picture[top : top + 28, left : left + 28], train[idx[i, j], ..., 0]
            )


def test_training_distances_leave_the_image_itself_out():
    train = make_images(30, seed=3)[..., None]
    stats = nearest.training_distances(train, num=10, seed=0)
    assert 0 < stats["nearest"] < stats["pairwise"]


def test_nearest_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="image size"):
        nearest.nearest_neighbours(
            np.zeros((2, 28, 28, 1), np.uint8), np.zeros((2, 32, 32, 1), np.uint8)
        )


@pytest.mark.parametrize("index", [-1, -4, -5, 4, np.int64(-1)])
@pytest.mark.parametrize("sign", ["plus", "minus"])
def test_arithmetic_refuses_negative_and_outside_indices(index, sign):
    # -1 was taken as the last vector while the message says 0 to N - 1.
    groups = {"plus_groups": [[0]], "minus_groups": []}
    groups[f"{sign}_groups"] = groups[f"{sign}_groups"] + [[1, index]]
    with pytest.raises(DataError, match=r"holds 4 vectors \(0 to 3\)"):
        explore.latent_arithmetic(np.zeros((4, 2)), **groups)


@pytest.mark.parametrize("index", [1.0, True, "1", None])
def test_arithmetic_refuses_indices_that_are_not_integers(index):
    with pytest.raises(DataError, match="plus_groups"):
        explore.latent_arithmetic(np.zeros((4, 2)), [[0, index]])


BAD_LATENTS = {
    "nan": np.nan,
    "inf": np.inf,
    "-inf": -np.inf,
    "beyond_float32": 1e300,  # float64: inf once the generator casts it
}


@pytest.mark.parametrize("value", BAD_LATENTS.values(), ids=list(BAD_LATENTS))
@pytest.mark.parametrize("where", ["first", "last"])
def test_generate_refuses_latents_that_are_not_finite(generator, value, where):
    # They gave all-black images, silently.
    z = latent.sample_latents(5, 8, 0).astype(np.float64)
    z[0 if where == "first" else -1, 3] = value
    with pytest.raises(DataError, match="NaN or infinite"):
        latent.generate(generator, z)
    with pytest.raises(DataError, match="NaN or infinite"):
        explore.interpolate(z[0], z[-1], 4)
    with pytest.raises(DataError, match="NaN or infinite"):
        explore.latent_arithmetic(z, [[0, 4]])


@pytest.mark.parametrize(
    "latent_dim", [10**12, 2**63, 0, -1, 4097, 8.0, True, np.float32(8)]
)
def test_sample_latents_refuses_latent_sizes_out_of_range(latent_dim):
    # 10**12 was a MemoryError of 14.6 TiB; -1 a ValueError of NumPy's.
    with pytest.raises(DataError, match="latent_dim"):
        latent.sample_latents(2, latent_dim)


@pytest.mark.parametrize("z", [np.zeros((3, 9)), np.zeros(8), "z", [[0.0] * 8, [0.0]]])
def test_generate_refuses_latents_of_another_shape(generator, z):
    with pytest.raises(DataError, match="latents z"):
        latent.generate(generator, z)
