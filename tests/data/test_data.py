import socket

import numpy as np
import pytest
import tensorflow_datasets as tfds
from helpers import make_images
from PIL import Image

from keras_dcgan.data import epoch_batches, from_array, load_images, suggest_shape
from keras_dcgan.errors import DataError


def first_batch(images, batch_size=8, epoch=0, skip=0):
    return next(
        iter(epoch_batches(images, batch_size, seed=0, epoch=epoch, skip_batches=skip))
    ).numpy()


def test_offline_default_needs_no_network(monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    images = load_images(28, 1)
    assert not attempts  # not even one tried and caught
    assert images.num_images == 1797
    batch = first_batch(images)
    assert batch.shape == (8, 28, 28, 1) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0
    assert batch.max() > 0.5 and batch.min() == -1.0  # ink on background


@pytest.mark.parametrize("layout", ["x", "x_train", "npy"])
def test_array_files(tmp_path, layout):
    x = make_images(20, size=28)
    if layout == "npy":
        path = tmp_path / "images.npy"
        np.save(path, x)
    else:
        path = tmp_path / "images.npz"
        np.savez(path, **{layout: x, "y": np.zeros(20)})
    images = load_images(32, 3, data=str(path))
    assert images.num_images == 20
    assert first_batch(images).shape == (8, 32, 32, 3)


@pytest.mark.parametrize(
    "scale,offset", [(1 / 255, 0.0), (2 / 255, -1.0), (1.0, 0.0), (3.0, -100.0)]
)
def test_float_arrays_of_any_range_map_to_the_same_images(scale, offset):
    x = make_images(8)
    reference = first_batch(from_array(x, 28, 1))
    floats = x.astype(np.float64) * scale + offset
    np.testing.assert_allclose(
        first_batch(from_array(floats, 28, 1)), reference, atol=2 / 255
    )


@pytest.mark.parametrize("magnitude", [1e3, 1e30, 1e39, 1e300, 1e308])
@pytest.mark.parametrize("signed", [False, True], ids=["0..m", "-m..m"])
def test_float64_arrays_near_its_limits_map_to_the_same_images(magnitude, signed):
    # Once cast to float32 first: 1e300 became inf, then all-black images.
    x = make_images(8)
    x[:, 0, 0] = 0  # every image has a dark and a bright pixel
    x[:, 0, 1] = 255
    reference = first_batch(from_array(x, 28, 1))
    unit = x.astype(np.float64) / 255
    floats = (unit * 2 - 1 if signed else unit) * magnitude
    assert np.isfinite(floats).all() and np.abs(floats).max() == magnitude
    converted = first_batch(from_array(floats, 28, 1))
    np.testing.assert_allclose(converted, reference, atol=2 / 255)


def test_channels_are_converted():
    rgba = np.zeros((8, 28, 28, 4), np.uint8)
    rgba[..., 0] = 255  # red, opaque
    rgba[..., 3] = 255
    gray = first_batch(from_array(rgba, 28, 1))
    assert gray.shape[-1] == 1
    assert np.allclose(gray, 76 / 127.5 - 1, atol=0.02)  # luma of red
    rgb = first_batch(from_array(make_images(8), 28, 3))
    assert rgb.shape[-1] == 3 and np.array_equal(rgb[..., 0], rgb[..., 2])


def test_non_square_images_are_center_cropped():
    x = np.zeros((8, 40, 80), np.uint8)
    x[:, :, 20:60] = 255  # the central 40x40 square is white
    batch = first_batch(from_array(x, 28, 1))
    assert batch.min() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros((4, 28), np.uint8), "not images"),
        (np.zeros((4, 28, 28, 2), np.uint8), "not images"),
        (np.zeros((0, 28, 28), np.uint8), "no images"),
        (np.array(["a", "b"]), "not numeric"),
        (np.full((4, 28, 28), np.nan), "NaN"),
    ],
)
def test_bad_arrays_are_refused(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=message) as info:
        load_images(28, 1, data=str(path))
    assert str(path) in str(info.value)


def test_pickled_arrays_are_not_loaded(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="without pickle"):
        load_images(28, 1, data=str(path))


def test_missing_path_and_both_sources():
    with pytest.raises(DataError, match="no such file"):
        load_images(28, 1, data="/nonexistent/images.npz")
    with pytest.raises(DataError, match="not both"):
        load_images(28, 1, dataset="mnist", data="x.npz")


def test_image_folder(tmp_path):
    x = make_images(10, size=50, channels=3)
    for i, image in enumerate(x):
        sub = tmp_path / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.fromarray(image).save(sub / f"{i}.{'png' if i % 3 else 'jpg'}")
    (tmp_path / "notes.txt").write_text("not an image")
    images = load_images(32, 3, data=str(tmp_path))
    assert images.num_images == 10
    batch = first_batch(images, batch_size=10)
    assert batch.shape == (10, 32, 32, 3)


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="no image files"):
        load_images(28, 1, data=str(tmp_path))


@pytest.mark.parametrize(
    "name,size,channels",
    [
        ("mnist", 28, 1),
        ("fashion_mnist", 28, 1),
        ("cifar10", 32, 3),
        ("svhn_cropped", 32, 3),
        ("celeb_a", 64, 3),
        ("lsun/bedroom", 64, 3),
    ],
)
def test_tfds_datasets_with_mock_data(name, size, channels):
    assert suggest_shape(dataset=name) == (size, channels)
    with tfds.testing.mock_data(num_examples=16):
        images = load_images(size, channels, dataset=name)
        assert images.num_images == 16
        batch = first_batch(images)
    assert batch.shape == (8, size, size, channels)
    assert batch.min() >= -1 and batch.max() <= 1


def test_unprepared_tfds_dataset_fails_fast_naming_the_fix(tmp_path):
    with pytest.raises(DataError, match="data_dir=") as info:
        load_images(28, 1, dataset="mnist", data_dir=str(tmp_path))
    assert "data=" in str(info.value)


def test_epoch_order_is_seeded_and_skip_resumes_it():
    images = from_array(make_images(64), 28, 1)
    epoch0 = [b.numpy() for b in epoch_batches(images, 8, seed=3, epoch=0)]
    again = [b.numpy() for b in epoch_batches(images, 8, seed=3, epoch=0)]
    epoch1 = [b.numpy() for b in epoch_batches(images, 8, seed=3, epoch=1)]
    skipped = [
        b.numpy() for b in epoch_batches(images, 8, seed=3, epoch=0, skip_batches=5)
    ]
    assert len(epoch0) == 8
    assert all(np.array_equal(a, b) for a, b in zip(epoch0, again))
    assert not np.array_equal(epoch0[0], epoch1[0])
    assert all(np.array_equal(a, b) for a, b in zip(epoch0[5:], skipped))


def test_incomplete_last_batch_is_dropped():
    images = from_array(make_images(20), 28, 1)
    sizes = [len(b) for b in epoch_batches(images, 8, seed=0, epoch=0)]
    assert sizes == [8, 8]


def test_suggest_shape_reads_array_files(tmp_path):
    np.savez(tmp_path / "gray.npz", x=make_images(4, size=28))
    np.savez(tmp_path / "rgb.npz", x=make_images(4, size=48, channels=3))
    assert suggest_shape(data=str(tmp_path / "gray.npz")) == (28, 1)
    assert suggest_shape(data=str(tmp_path / "rgb.npz")) == (64, 3)
    assert suggest_shape() == (28, 1)
