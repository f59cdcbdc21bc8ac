"""The averaged generator (`--ema`): the closed form, nothing changed in
training or in runs without it, exact resume, and the choice of generator
(`--generator ema|raw`, `load_generator(..., generator=...)`) of readers."""

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    TINY,
    checkpoint_tensors,
    deterministic_ops,
    exit_code,
    make_images,
    snapshot,
    tiny_flags,
    train_cli,
)

from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN, GeneratorAverage
from keras_dcgan.errors import ConfigError, RunError
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.quality import evaluation, features
from keras_dcgan.quality.classifier import train_classifier
from keras_dcgan.runs import load_generator, load_run_config
from keras_dcgan.runs.checkpoints import TrainingState, make_checkpoint
from keras_dcgan.training import train

EMA = 0.9
AVERAGE = ("generator_average/", "average_updates/")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Runs of 6 steps (checkpoints at 3 and 6), deterministic ops: `ema`
    (--ema 0.9), `plain` (no average), `split` (`ema` stopped at 3 and
    resumed); `best`: `ema` with an evaluation every 2 steps."""
    root = tmp_path_factory.mktemp("ema")
    x = make_images(64)
    data = str(root / "blobs.npz")
    np.savez(data, x=x, y=(x.reshape(64, -1).mean(axis=1) > 60))
    clf = str(root / "clf.keras")
    train_classifier(x[..., None], np.load(data)["y"].astype("int64"), clf, epochs=1)
    images = from_array(x, 28, 1)
    config = DCGANConfig(**dict(TINY, num_samples=4), steps=6, checkpoint_every=3)
    ema = dataclasses.replace(config, ema=EMA)
    paths = {name: str(root / name) for name in ("ema", "plain", "split", "best")}
    with deterministic_ops():
        train(ema, images, paths["ema"], verbose=0)
        train(config, images, paths["plain"], verbose=0)
        train(dataclasses.replace(ema, steps=3), images, paths["split"], verbose=0)
        train(ema, images, paths["split"], resume=True, verbose=0)
    scored = dict(eval_every=2, eval_metric="fid", eval_num=32)
    best = dataclasses.replace(ema, eval_features=f"classifier:{clf}", **scored)
    train(best, images, paths["best"], verbose=0)
    return dict(paths, root=root, data=data, clf=clf, images=images)


def restored(run):
    """The DCGAN of the run's newest checkpoint, restored by hand."""
    gan = DCGAN(load_run_config(run))
    path = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
    make_checkpoint(gan, TrainingState()).restore(path).expect_partial()
    return gan


def assert_same_weights(model, other):
    for a, b in zip(model.weights, other.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.parametrize("warmup", [True, False])
def test_the_average_is_the_closed_form(warmup):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()]
    )
    decay, rng = 0.5, np.random.default_rng(0)
    average = GeneratorAverage(model, decay, warmup=warmup)
    paths = [w.path for w in average.model.weights]
    assert any("moving_mean" in p for p in paths)
    assert any("moving_variance" in p for p in paths)
    sequence = [model.get_weights()]
    for n in range(1, 13):  # the warm-up's decay passes 0.5 at n = 8
        sequence.append(
            [rng.normal(size=w.shape).astype("float32") for w in model.weights]
        )
        model.set_weights(sequence[-1])
        average.update()
        assert average.current_decay(n) == (
            min(decay, (1 + n) / (10 + n)) if warmup else decay
        )
    decays = [average.current_decay(n) for n in range(1, 13)]
    for i, got in enumerate(average.model.get_weights()):
        # a_N = prod(d) w_0 + sum_n (1 - d_n) prod_{m > n}(d_m) w_n
        want = np.prod(decays) * sequence[0][i].astype("float64")
        for n, d in enumerate(decays, start=1):
            want += (1 - d) * np.prod(decays[n:]) * sequence[n][i]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert int(average.updates) == 12
    for got, set_last in zip(model.get_weights(), sequence[-1]):
        np.testing.assert_array_equal(got, set_last)


def test_the_average_changes_nothing_in_training(work):
    with_average, without = (
        checkpoint_tensors(work["ema"]),
        checkpoint_tensors(work["plain"]),
    )
    assert sorted(with_average) == sorted(without) == [3, 6]
    for step, tensors in with_average.items():
        averaged = {k for k in tensors if k.startswith(AVERAGE)}
        assert averaged
        assert set(tensors) - averaged == set(without[step])
        for key, value in without[step].items():
            np.testing.assert_array_equal(tensors[key], value, err_msg=key)
    gan = restored(work["ema"])
    assert gan.sampled_generator is gan.average.model
    assert any(
        not np.array_equal(a.numpy(), r.numpy())
        for a, r in zip(gan.average.model.weights, gan.generator.weights)
    )


def test_a_run_without_ema_is_unchanged(work):
    def names(run):
        path = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
        return {name for name, _ in tf.train.list_variables(path)}

    plain, ema = names(work["plain"]), names(work["ema"])
    assert plain == {n for n in ema if not n.startswith(AVERAGE)}
    assert not any("average" in n for n in plain)
    assert not os.path.exists(os.path.join(work["plain"], "generator_raw.keras"))
    saved = keras.saving.load_model(
        os.path.join(work["plain"], "generator.keras"), safe_mode=True
    )
    assert_same_weights(saved, restored(work["plain"]).generator)
    gan = restored(work["ema"])
    for name, model in (
        ("generator.keras", gan.average.model),
        ("generator_raw.keras", gan.generator),
    ):
        path = os.path.join(work["ema"], name)
        assert_same_weights(keras.saving.load_model(path, safe_mode=True), model)


def test_a_resumed_run_with_ema_is_bit_exact(work):
    split, straight = checkpoint_tensors(work["split"]), checkpoint_tensors(work["ema"])
    assert sorted(split) == sorted(straight) == [3, 6]
    for step, tensors in straight.items():
        assert set(split[step]) == set(tensors)
        for key, value in tensors.items():
            np.testing.assert_array_equal(split[step][key], value, err_msg=key)
    reader = tf.train.load_checkpoint(os.path.join(work["split"], "checkpoints"))
    assert reader.get_tensor("average_updates/.ATTRIBUTES/VARIABLE_VALUE") == 6


def sampled(run, out, *flags):
    argv = ["sample", run, "--num", "8", "--seed", "3", "--output", out, *flags]
    assert main(argv) == 0
    return np.load(out)["x"]


def test_sample_and_export_read_the_average_unless_raw_is_asked(work):
    run, root = work["ema"], work["root"]
    gan, z = restored(run), sample_latents(8, 8, 3)
    before = snapshot(run)
    for flags, model in (
        ([], gan.average.model),
        (["--generator", "ema"], gan.average.model),
        (["--generator", "raw"], gan.generator),
        (["--generator", "raw", "--checkpoint", "latest"], gan.generator),
    ):
        images = sampled(run, str(root / "s.npz"), *flags)
        np.testing.assert_array_equal(images, generate(model, z), str(flags))
    for flags, model in (
        ([], gan.average.model),
        (["--generator", "raw"], gan.generator),
    ):
        base = str(root / f"served{len(flags)}")
        assert main(["export", run, "--output-dir", base, *flags]) == 0
        served = tf.saved_model.load(os.path.join(base, "1"))
        out = served.signatures["serving_default"](z=tf.constant(z))["images_float"]
        np.testing.assert_allclose(out, model(z, training=False), atol=1e-5)
    assert snapshot(run) == before  # read only


def test_load_generator_takes_the_choice(work):
    run, gan, z = work["ema"], restored(work["ema"]), sample_latents(4, 8, 0)
    for kwargs, model in (
        ({}, gan.average.model),
        ({"generator": "raw"}, gan.generator),
        ({"checkpoint": "latest"}, gan.average.model),
        ({"checkpoint": 6, "generator": "raw"}, gan.generator),
    ):
        loaded = load_generator(run, **kwargs)
        np.testing.assert_array_equal(generate(loaded, z), generate(model, z))
    with pytest.raises(RunError, match="use ema .* or raw"):
        load_generator(run, generator="average")
    with pytest.raises(RunError, match="no averaged generator.*ema="):
        load_generator(work["plain"], checkpoint="latest", generator="ema")


def test_a_missing_or_damaged_raw_file_falls_back_to_the_checkpoint(work, tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(work["ema"], run)
    raw, z = os.path.join(run, "generator_raw.keras"), sample_latents(4, 8, 0)
    want = generate(restored(run).generator, z)
    with open(raw, "r+b") as f:
        f.truncate(100)
    np.testing.assert_array_equal(generate(load_generator(run, None, "raw"), z), want)
    os.remove(raw)
    np.testing.assert_array_equal(generate(load_generator(run, None, "raw"), z), want)


READERS = {
    "sample": ["--output", "{root}/o.png"],
    "export": ["--output-dir", "{root}/refused"],
    "interpolate": ["--output", "{root}/o.png"],
    "arithmetic": [
        "--latents",
        "{root}/z.npy",
        "--plus",
        "0",
        "--output",
        "{root}/o.png",
    ],
    "nearest": ["--data", "{data}", "--output", "{root}/o.png"],
    "evaluate": ["--data", "{data}", "--features", "classifier:{clf}", "--num", "8"],
}


@pytest.mark.parametrize("command", sorted(READERS))
def test_ema_of_a_run_without_one_is_one_line(work, command, capsys):
    np.save(work["root"] / "z.npy", sample_latents(4, 8, 0))
    flags = [f.format(**work) for f in READERS[command]]
    before = snapshot(work["root"])
    assert main([command, work["plain"], *flags, "--generator", "ema"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "has no averaged generator" in err and "train a run with --ema" in err
    assert snapshot(work["root"]) == before


def test_the_best_checkpoint_gives_the_average_that_was_scored(work):
    run = work["best"]
    with open(os.path.join(run, "checkpoints", "best", "best.json")) as f:
        best = json.load(f)
    extractor = features.make_extractor(f"classifier:{work['clf']}")

    def score(generator):
        report = evaluation.evaluate_run(
            run,
            work["images"],
            extractor,
            32,
            seed=0,
            metric_names=("fid",),
            checkpoint="best",
            generator=generator,
        )
        return report["generator"], report["metrics"]["fid"]["value"]

    which, value = score(None)
    assert which == "ema" and value == pytest.approx(best["value"], rel=1e-6)
    which, value = score("raw")
    assert which == "raw" and value != pytest.approx(best["value"], rel=1e-6)


def test_a_config_without_the_ema_key_is_a_run_without_average(work, tmp_path):
    run = str(tmp_path / "old")
    shutil.copytree(work["plain"], run)
    path = os.path.join(run, "config.json")
    with open(path) as f:
        values = json.load(f)
    del values["ema"]  # what runs made before the average existed hold
    with open(path, "w") as f:
        json.dump(values, f)
    assert DCGANConfig.from_json(path).ema == 0.0
    z = sample_latents(4, 8, 0)
    plain = load_generator(work["plain"])
    np.testing.assert_array_equal(generate(load_generator(run), z), generate(plain, z))
    with pytest.raises(RunError, match="no averaged generator"):
        load_generator(run, generator="ema")


def test_resume_with_another_ema_is_refused(work, tmp_path, capsys):
    before = snapshot(work["root"])
    for run, asked, message in (
        (work["ema"], "0.5", "ema: run has 0.9, asked 0.5"),
        (work["plain"], "0.9", "ema: run has 0.0, asked 0.9"),
    ):
        flags = [*tiny_flags(), "--resume", "--steps", "8", "--ema", asked]
        assert train_cli(work["data"], run, *flags) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 1, err
    assert snapshot(work["root"]) == before
    config = dataclasses.replace(load_run_config(work["ema"]), ema=0.0, steps=8)
    with pytest.raises(ConfigError, match="ema: run has 0.9, asked 0.0"):
        train(config, work["images"], work["ema"], resume=True, verbose=0)


@pytest.mark.parametrize("value", ["1", "-0.1", "nan", "inf"])
def test_an_ema_out_of_range_names_the_flag_and_the_range(tmp_path, value, capsys):
    argv = ["train", "--output-dir", str(tmp_path / "r"), "--ema", value]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "error: --ema " in err and "from 0.0 to 1.0 (1.0 excluded)" in err
    assert not (tmp_path / "r").exists()
