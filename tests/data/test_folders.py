"""Image folders with the mess real folders have."""

import io
import logging
import os

import numpy as np
import pytest
from helpers import make_images
from PIL import Image

from keras_dcgan.data import epoch_batches, load_images
from keras_dcgan.data.folders import why_unusable
from keras_dcgan.errors import DataError


def jpeg_bytes(array, quality=90):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def face_like(rng, height=218, width=178):
    """A CelebA-sized photo: noise background, a bright centered oval."""
    yy, xx = np.mgrid[:height, :width]
    oval = ((yy - height / 2) / 60) ** 2 + ((xx - width / 2) / 45) ** 2 < 1
    image = rng.integers(0, 80, (height, width, 3), dtype=np.uint8)
    image[oval] = (220, 180, 150)
    return image


@pytest.fixture
def messy_folder(tmp_path):
    """20 good images of every kind, and one of each bad kind."""
    rng = np.random.default_rng(0)
    good = tmp_path / "good"
    (good / "nested" / "deeper").mkdir(parents=True)
    for i in range(8):
        (good / f"face_{i}.jpg").write_bytes(jpeg_bytes(face_like(rng)))
    gray = make_images(4, size=40)
    for i, image in enumerate(gray):
        Image.fromarray(image).save(good / "nested" / f"gray_{i}.png")
    rgba = np.dstack([face_like(rng, 50, 60), np.full((50, 60), 128, np.uint8)])
    for i in range(4):
        Image.fromarray(rgba).save(good / "nested" / "deeper" / f"rgba_{i}.png")
    Image.fromarray(face_like(rng, 30, 30)).save(good / "a.bmp")
    Image.fromarray(face_like(rng, 30, 30)).save(good / "b.webp")
    frames = [Image.fromarray(face_like(rng, 32, 32)) for _ in range(3)]
    frames[0].save(good / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(face_like(rng, 64, 64)).save(good / "upper.JPEG")
    bad = {
        "empty.jpg": b"",
        "truncated.jpg": jpeg_bytes(face_like(rng))[:600],
        "garbage.png": rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
        "text.jpg": b"this is not an image\n" * 20,
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
    Image.fromarray(face_like(rng, 4, 4)).save(tmp_path / "tiny.png")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    return tmp_path


def test_bad_files_are_skipped_counted_and_reported(messy_folder, caplog):
    caplog.set_level(logging.WARNING)
    images = load_images(32, 3, data=str(messy_folder), max_bad_fraction=0.3)
    assert images.num_images == 20
    reasons = {p.rsplit("/", 1)[-1]: why for p, why in images.skipped.items()}
    assert set(reasons) == {
        "empty.jpg",
        "truncated.jpg",
        "garbage.png",
        "text.jpg",
        "tiny.png",
    }
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["text.jpg"] == "not an image"
    assert "truncated" in reasons["truncated.jpg"]
    assert reasons["tiny.png"].startswith("too small (4x4 px")
    assert "skipped 5 of 25" in caplog.text and "truncated.jpg" in caplog.text
    batches = list(epoch_batches(images, 10, seed=0, epoch=0))
    assert len(batches) == 2
    for batch in batches:
        assert batch.shape == (10, 32, 32, 3)
        assert batch.numpy().min() >= -1 and batch.numpy().max() <= 1


def test_too_many_bad_files_stop_with_the_list(messy_folder):
    with pytest.raises(DataError, match="5 of 25 image files are unusable") as info:
        load_images(32, 3, data=str(messy_folder), max_bad_fraction=0.1)
    message = str(info.value)
    assert "empty.jpg: empty file" in message and "max_bad_fraction=" in message


def test_folder_with_no_decodable_image(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_text("nope")
    with pytest.raises(DataError, match="none of the 2 image files"):
        load_images(28, 1, data=str(tmp_path))


def test_grayscale_output_and_center_crop(tmp_path):
    image = np.zeros((218, 178, 3), np.uint8)
    image[55:163, 35:143] = 255  # a white 108x108 square in the middle
    for i in range(4):
        (tmp_path / f"{i}.jpg").write_bytes(jpeg_bytes(image, quality=100))
    cropped = load_images(28, 1, data=str(tmp_path), center_crop=108)
    whole = load_images(28, 1, data=str(tmp_path))
    crop_batch = next(iter(epoch_batches(cropped, 4, 0, 0))).numpy()
    whole_batch = next(iter(epoch_batches(whole, 4, 0, 0))).numpy()
    assert crop_batch.shape == (4, 28, 28, 1)
    assert crop_batch[:, 2:-2, 2:-2].min() > 0.9  # all face crop
    assert whole_batch.min() < -0.9  # the dark border is still there


def test_why_unusable_names_a_good_file_as_undecodable_only_if_tf_fails(tmp_path):
    path = tmp_path / "ok.png"
    Image.fromarray(make_images(1, size=16)[0]).save(path)
    assert "TensorFlow cannot decode" in why_unusable(str(path))


def test_cli_trains_on_a_celeba_like_folder_reporting_skipped_files(tmp_path, caplog):
    from keras_dcgan.cli import main

    rng = np.random.default_rng(1)
    data = tmp_path / "img_align_celeba"
    data.mkdir()
    for i in range(36):
        (data / f"{i:06d}.jpg").write_bytes(jpeg_bytes(face_like(rng)))
    (data / "000036.jpg").write_bytes(b"")
    (data / "000037.jpg").write_bytes(jpeg_bytes(face_like(rng))[:700])
    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--output-dir",
            str(run),
            "--image-size",
            "32",
            "--center-crop",
            "108",
            "--steps",
            "2",
            "--latent-dim",
            "8",
            "--generator-width",
            "8",
            "--discriminator-width",
            "8",
            "--batch-size",
            "16",
            "--num-samples",
            "4",
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    assert "skipped 2 of 38 image files" in caplog.text
    assert "000036.jpg: empty file" in caplog.text
    assert "000037.jpg: truncated" in caplog.text
    assert (run / "generator.keras").is_file()


# Names a Linux file system holds that are not UTF-8: Latin-1, a lone
# continuation byte, a cut sequence, an encoded surrogate, an overlong "/".
NOT_UTF8 = [b"caf\xe9", b"\x80", b"ab\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xff"]


@pytest.mark.parametrize("name", NOT_UTF8, ids=lambda n: n.hex())
@pytest.mark.parametrize("where", ["file", "folder"])
def test_names_that_are_not_utf8_are_skipped_and_listed(tmp_path, caplog, name, where):
    good = make_images(12, size=28)
    for i, image in enumerate(good):
        Image.fromarray(image).save(tmp_path / f"good_{i:02d}.png")
    folder = os.path.join(os.fsencode(tmp_path), name) if where == "folder" else None
    if folder:
        os.mkdir(folder)
    target = os.path.join(folder or os.fsencode(tmp_path), name + b".png")
    with open(target, "wb") as f:
        f.write((tmp_path / "good_00.png").read_bytes())
    caplog.set_level(logging.WARNING)
    images = load_images(28, 1, data=str(tmp_path))
    assert images.num_images == 12
    [(path, reason)] = images.skipped.items()
    assert os.fsencode(path) == target and "not valid UTF-8" in reason
    assert "skipped 1 of 13" in caplog.text
    assert name[-1:].hex() in caplog.text  # shown escaped: \xNN
    assert len(list(epoch_batches(images, 4, seed=0, epoch=0))) == 3
