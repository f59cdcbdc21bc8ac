"""Model files are untrusted input: nothing in them runs while loading."""

import dataclasses
import os

import keras
import pytest
from helpers import TINY

from keras_dcgan import runs
from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import RunError
from keras_dcgan.networks import build_generator


def plant_lambda_model(path, canary):
    """A generator-shaped model whose Lambda writes `canary` when called."""
    code = f"open({str(canary)!r}, 'w').write('ran') or x"
    model = keras.Sequential(
        [
            keras.Input((8,), name="z"),
            keras.layers.Lambda(eval(f"lambda x: {code}")),
            keras.layers.Dense(28 * 28),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    if os.path.exists(canary):
        os.remove(canary)  # building the model above ran it once
    model.save(path)


@pytest.fixture
def planted_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    DCGANConfig(image_size=28, channels=1, latent_dim=8).to_json(
        str(run / "config.json")
    )
    canary = tmp_path / "canary.txt"
    plant_lambda_model(str(run / "generator.keras"), canary)
    return run, canary


def test_the_canary_would_fire_without_safe_mode(planted_run):
    run, canary = planted_run
    keras.saving.load_model(run / "generator.keras", safe_mode=False)
    assert canary.exists()  # so the next test's check means something


def test_a_model_with_code_is_refused_and_runs_nothing(planted_run, capsys, tmp_path):
    run, canary = planted_run
    assert (
        main(["sample", str(run), "--num", "4", "--output", str(tmp_path / "s.png")])
        == 2
    )
    err = capsys.readouterr().err
    assert "refused" in err and "would run code" in err
    assert "Traceback" not in err
    assert not canary.exists() and not (tmp_path / "s.png").exists()


def test_a_classifier_with_code_is_refused(planted_run, tmp_path, capsys):
    run, canary = planted_run
    clf = tmp_path / "clf.keras"
    plant_lambda_model(str(clf), canary)
    assert (
        main(
            [
                "evaluate",
                str(run),
                "--dataset",
                "digits",
                "--features",
                f"classifier:{clf}",
                "--num",
                "8",
            ]
        )
        == 2
    )
    assert "cannot load it" in capsys.readouterr().err
    assert not canary.exists()


def test_a_damaged_generator_without_a_checkpoint_is_a_clear_error(
    planted_run, tmp_path, capsys
):
    # Damage is not a refusal: it falls back to the run's checkpoint (see
    # test_input_bounds.py), and says so when there is none.
    run, _ = planted_run
    (run / "generator.keras").write_bytes(b"not a zip archive" * 64)
    assert main(["sample", str(run), "--output", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "no checkpoint replaces it" in err
    assert "would run code" not in err and len(err.splitlines()) == 1


def test_a_model_of_another_shape_is_not_taken_for_a_generator():
    config = DCGANConfig(**TINY)
    generator = build_generator(config)
    runs.check_generator(generator, config, "g.keras")
    runs.check_generator(generator, None, "g.keras")  # ranks only
    dense = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])
    for known in (config, None):
        with pytest.raises(RunError, match="not this run's generator"):
            runs.check_generator(dense, known, "g.keras")
    wider = build_generator(dataclasses.replace(config, latent_dim=16))
    with pytest.raises(
        RunError,
        match=r"maps \[None, 16\] to "
        r"\[None, 28, 28, 1\], a generator of this run maps "
        r"\[None, 8\]",
    ):
        runs.check_generator(wider, config, "g.keras")
