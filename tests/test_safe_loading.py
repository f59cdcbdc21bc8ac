"""Model files are untrusted input: nothing in them runs while loading."""

import os

import keras
import pytest

from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig


def plant_lambda_model(path, canary):
    """A generator-shaped model whose Lambda writes `canary` when called."""
    code = f"open({str(canary)!r}, 'w').write('ran') or x"
    model = keras.Sequential([
        keras.Input((8,), name="z"),
        keras.layers.Lambda(eval(f"lambda x: {code}")),
        keras.layers.Dense(28 * 28), keras.layers.Reshape((28, 28, 1)),
    ])
    if os.path.exists(canary):
        os.remove(canary)  # building the model above ran it once
    model.save(path)


@pytest.fixture
def planted_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    DCGANConfig(image_size=28, channels=1, latent_dim=8).to_json(
        str(run / "config.json"))
    canary = tmp_path / "canary.txt"
    plant_lambda_model(str(run / "generator.keras"), canary)
    return run, canary


def test_the_canary_would_fire_without_safe_mode(planted_run):
    run, canary = planted_run
    keras.saving.load_model(run / "generator.keras", safe_mode=False)
    assert canary.exists()  # so the next test's check means something


def test_a_model_with_code_is_refused_and_runs_nothing(planted_run, capsys,
                                                       tmp_path):
    run, canary = planted_run
    assert main(["sample", str(run), "--num", "4", "--output",
                 str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "would run code" in err
    assert "Traceback" not in err
    assert not canary.exists() and not (tmp_path / "s.png").exists()


def test_a_classifier_with_code_is_refused(planted_run, tmp_path, capsys):
    run, canary = planted_run
    clf = tmp_path / "clf.keras"
    plant_lambda_model(str(clf), canary)
    assert main(["evaluate", str(run), "--dataset", "digits", "--features",
                 f"classifier:{clf}", "--num", "8"]) == 2
    assert "cannot load it" in capsys.readouterr().err
    assert not canary.exists()
