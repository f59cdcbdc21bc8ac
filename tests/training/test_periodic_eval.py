"""Evaluation during training: the metric in the history and TensorBoard,
and a best checkpoint that a later, worse model never replaces."""

import csv
import dataclasses
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import BreakAtStep, make_images

from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.errors import ConfigError
from keras_dcgan.quality import evaluation
from keras_dcgan.quality.classifier import train_classifier
from keras_dcgan.training import train


@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory):
    x = make_images(64)[..., None]
    y = x.reshape(64, -1).mean(axis=1) > np.median(x.mean(axis=(1, 2, 3)))
    path = str(tmp_path_factory.mktemp("clf") / "clf.keras")
    train_classifier(x, y.astype("int64"), path, epochs=1)
    return path


def test_eval_every_logs_the_metric_and_keeps_the_best(
    tmp_path, tiny_config, classifier_path
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config,
        steps=8,
        checkpoint_every=2,
        eval_every=2,
        eval_features=f"classifier:{classifier_path}",
        eval_metric="is",
        eval_num=32,
    )
    images = from_array(make_images(64), 28, 1)
    # From step 7 on every fake is the same image: the worst score there is.
    train(config, images, run, callbacks=[BreakAtStep(7, "zeros")], verbose=0)
    with open(os.path.join(run, "history.csv")) as f:
        rows = {int(r["step"]): float(r["eval"]) for r in csv.DictReader(f)}
    evaluated = {s: v for s, v in rows.items() if math.isfinite(v)}
    assert sorted(evaluated) == [2, 4, 6, 8]
    assert evaluated[8] == pytest.approx(1.0, abs=1e-3)  # one image: IS = 1
    with open(os.path.join(run, "checkpoints", "best", "best.json")) as f:
        best = json.load(f)
    assert best["metric"] == "is" and best["step"] in (2, 4, 6)
    assert best["value"] == pytest.approx(max(evaluated.values()))
    best_ckpt = tf.train.latest_checkpoint(os.path.join(run, "checkpoints", "best"))
    assert best_ckpt.endswith(f"ckpt-{best['step']}")
    latest = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
    assert latest.endswith("ckpt-8")
    events = os.listdir(os.path.join(run, "tensorboard"))
    assert any(name.startswith("events.out.tfevents") for name in events)


def best_files(run):
    """{name: bytes} of RUN/checkpoints/best."""
    folder = os.path.join(run, "checkpoints", "best")
    contents = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            contents[name] = f.read()
    return contents


def test_the_best_checkpoint_survives_resume(
    tmp_path, tiny_config, classifier_path, monkeypatch
):
    # Scripted scores (a tiny generator's IS is ~1 at every step): step 4
    # is the best; after resume step 6 beats step 2 but not step 4, so an
    # evaluator that forgot the best on resume would replace it.
    scores = {2: 3.0, 4: 5.0, 6: 4.0, 8: 2.0}
    steps = iter(sorted(scores))
    monkeypatch.setattr(
        evaluation,
        "evaluate_generator",
        lambda *args, **kwargs: {"is": {"value": scores[next(steps)], "std": 0.0}},
    )
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config,
        steps=4,
        checkpoint_every=2,
        eval_every=2,
        eval_features=f"classifier:{classifier_path}",
        eval_metric="is",
        eval_num=32,
    )
    images = from_array(make_images(64), 28, 1)
    train(config, images, run, verbose=0)
    before = best_files(run)
    assert json.loads(before["best.json"]) == {"metric": "is", "value": 5.0, "step": 4}
    assert "ckpt-4.index" in before

    train(dataclasses.replace(config, steps=8), images, run, resume=True, verbose=0)
    with open(os.path.join(run, "history.csv")) as f:
        rows = {int(r["step"]): r["eval"] for r in csv.DictReader(f)}
    assert [float(rows[s]) for s in sorted(scores)] == [3.0, 5.0, 4.0, 2.0]
    assert best_files(run) == before
    best = tf.train.latest_checkpoint(os.path.join(run, "checkpoints", "best"))
    assert best.endswith("ckpt-4")


def test_eval_every_needs_features():
    with pytest.raises(ConfigError, match="eval_features="):
        DCGANConfig(eval_every=10)
    with pytest.raises(ConfigError, match="^eval_metric="):
        DCGANConfig(eval_metric="accuracy")
