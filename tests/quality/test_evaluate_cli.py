"""`keras-dcgan train-classifier` and `evaluate` end to end, and extractors."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from helpers import TINY, exit_code, make_images

from keras_dcgan.cli import main
from keras_dcgan.errors import DataError, MetricsError
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.quality import evaluation, features, metrics


@pytest.fixture(scope="module")
def work(tmp_path_factory, tiny_run):
    """A tiny run, labelled images and a classifier trained by the CLI."""
    root = tmp_path_factory.mktemp("evaluate")
    run = tiny_run
    x = make_images(64, seed=1)
    x[1::2] = 255 - x[1::2]  # class 1: inverted blobs
    labelled = str(root / "labelled.npz")
    np.savez(labelled, x=x, y=np.arange(64) % 2)
    clf = str(root / "clf.keras")
    assert (
        main(["train-classifier", "--data", labelled, "--output", clf, "--epochs", "1"])
        == 0
    )
    return {"root": root, "run": run, "data": labelled, "clf": clf}


def test_train_classifier_writes_model_and_sidecar(work):
    side = json.load(open(work["clf"] + ".json"))
    assert side["input_range"] == [0, 255] and side["classes"] == 2
    assert (side["image_size"], side["channels"]) == (28, 1)
    assert 0.0 <= side["val_accuracy"] <= 1.0
    assert not [n for n in os.listdir(work["root"]) if n.startswith(".tmp")]


def test_evaluate_with_classifier_features_end_to_end(work):
    out = str(work["root"] / "eval.json")
    cache = str(work["root"] / "real.npz")
    argv = [
        "evaluate",
        work["run"],
        "--data",
        work["data"],
        "--features",
        f"classifier:{work['clf']}",
        "--num",
        "32",
        "--batch-size",
        "16",
        "--stats-cache",
        cache,
        "--output",
        out,
    ]
    assert main(argv) == 0
    report = json.load(open(out))
    assert report["run_dir"] == work["run"]
    assert report["extractor"] == "classifier:clf.keras"
    assert report["num_images"] == 32 and report["seconds"] > 0
    scores = report["metrics"]
    assert scores["fid"]["value"] > 0
    assert set(scores["kid"]) == {"value", "std", "stderr"}
    assert set(scores["is"]) == {"value", "std"}  # its value: next test
    assert 0 <= scores["pr"]["precision"] <= 1
    assert 0 <= scores["pr"]["recall"] <= 1
    assert os.path.isfile(cache)


def test_classifier_score_is_the_classifiers_view_of_the_samples(work):
    # A generator whose samples the classifier tells apart (all dark or all
    # bright, by the sign of z[0]), so the score is far from 1 and a wrong
    # input to it (features, logits, other images) would show.
    generator = keras.Sequential(
        [
            keras.Input((TINY["latent_dim"],)),
            keras.layers.Dense(28 * 28, activation="tanh"),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    kernel = np.zeros((TINY["latent_dim"], 28 * 28), np.float32)
    kernel[0] = 5.0
    generator.layers[0].set_weights([kernel, np.zeros(28 * 28, np.float32)])
    extractor = features.make_extractor(f"classifier:{work['clf']}")
    scores = evaluation.evaluate_generator(
        generator, make_images(32)[..., None], extractor, num=32, metric_names=["is"]
    )

    samples = generate(generator, sample_latents(32, TINY["latent_dim"], 0))
    classifier = keras.saving.load_model(work["clf"])
    probabilities = classifier.predict(samples.astype("float32"), verbose=0)
    expected = metrics.inception_score(probabilities)["value"]
    assert expected > 1.05
    assert scores["is"]["value"] == pytest.approx(expected, rel=1e-4)


def test_evaluate_repeats_exactly_with_a_cache(work, tmp_path):
    cache = str(tmp_path / "real.npz")
    out = [str(tmp_path / f"{i}.json") for i in range(2)]
    for path in out:
        assert (
            main(
                [
                    "evaluate",
                    work["run"],
                    "--data",
                    work["data"],
                    "--features",
                    f"classifier:{work['clf']}",
                    "--num",
                    "16",
                    "--metrics",
                    "fid,is",
                    "--stats-cache",
                    cache,
                    "--output",
                    path,
                ]
            )
            == 0
        )
    first, second = (json.load(open(p))["metrics"] for p in out)
    assert first == second and set(first) == {"fid", "is"}


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--features", "bogus"], "use 'inception' or 'classifier:PATH'"),
        (["--features", "classifier:/nonexistent.keras"], "train-classifier"),
        (["--metrics", "fid,xyz"], "unknown ['xyz']"),
        (["--num", "1"], "--num: 1: use an integer from 2"),
    ],
)
def test_evaluate_bad_input_is_a_clear_error(work, capsys, flags, message):
    assert exit_code(["evaluate", work["run"], "--data", work["data"], *flags]) == 2
    assert message in capsys.readouterr().err


def test_train_classifier_on_a_tfds_dataset(tmp_path, capsys):
    clf = str(tmp_path / "mnist_clf.keras")
    with tfds.testing.mock_data(num_examples=32):
        assert (
            main(
                [
                    "train-classifier",
                    "--dataset",
                    "mnist",
                    "--output",
                    clf,
                    "--epochs",
                    "1",
                ]
            )
            == 0
        ), capsys.readouterr().err
    with open(clf + ".json") as f:
        side = json.load(f)
    assert (side["image_size"], side["channels"]) == (28, 1)
    assert side["source"] == "tfds:mnist" and side["classes"] >= 2
    model = keras.saving.load_model(clf)
    probabilities = model.predict(
        make_images(3).astype("float32")[..., None], verbose=0
    )
    assert probabilities.shape == (3, side["classes"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_train_classifier_needs_labels(tmp_path, npz_file, capsys):
    assert (
        main(
            [
                "train-classifier",
                "--data",
                npz_file,
                "--output",
                str(tmp_path / "c.keras"),
            ]
        )
        == 2
    )
    assert "no labels" in capsys.readouterr().err


def test_inception_path_on_a_stand_in(work):
    # Random weights stand in for the ImageNet ones (no download here).
    extractor = features.InceptionExtractor(weights=None)
    real = make_images(8, seed=2)[..., None]
    feats, probs = extractor(real[:2])
    assert feats.shape == (2, 2048) and probs.shape == (2, 1000)
    report = evaluation.evaluate_run(
        work["run"],
        real,
        extractor,
        num=8,
        batch_size=8,
        metric_names=("kid", "is", "pr"),
    )
    assert report["extractor"] == "inception_v3:None"
    assert set(report["metrics"]) == {"kid", "is", "pr"}
    assert report["metrics"]["is"]["value"] >= 1.0


def test_inception_download_failure_says_what_to_do(monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(DataError, match="network.*classifier:PATH"):
        features.InceptionExtractor()


def test_classifier_extractor_on_sequential_logits(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, name="hidden"),
            keras.layers.Dense(3),
        ]
    )
    path = str(tmp_path / "seq.keras")
    model.save(path)
    extractor = features.ClassifierExtractor(path, input_range=(0, 1))
    feats, probs = extractor(make_images(4, size=12)[..., None])
    assert feats.shape == (4, 5) and probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unusable_statistics_are_a_clear_error(work, monkeypatch, capsys):
    def singular(*args, **kwargs):
        raise MetricsError("FID: matrix square root has imaginary part 0.1")

    monkeypatch.setattr(evaluation, "evaluate_run", singular)
    assert (
        main(
            [
                "evaluate",
                work["run"],
                "--data",
                work["data"],
                "--features",
                f"classifier:{work['clf']}",
            ]
        )
        == 2
    )
    assert "imaginary part" in capsys.readouterr().err
