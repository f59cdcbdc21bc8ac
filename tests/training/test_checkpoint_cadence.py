"""Checkpoints by time, so small epochs do not spend their time saving;
`checkpoint_every` still wins, and the end of a run always saves."""

import dataclasses
import os

import keras
import pytest
from helpers import exit_code, history_steps

from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError
from keras_dcgan.training import cadence, train


def checkpoint_steps(run):
    names = os.listdir(os.path.join(run, "checkpoints"))
    return sorted(int(n[5:-6]) for n in names if n.endswith(".index"))


def test_a_short_run_saves_once_at_the_end(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    train(dataclasses.replace(tiny_config, steps=12), images, run, verbose=0)
    assert checkpoint_steps(run) == [12]  # not at each 4-step epoch's end


class HistoryAtEpochEnd(keras.callbacks.Callback):
    """The steps in history.csv at each epoch's end."""

    def __init__(self, run):
        super().__init__()
        self.run, self.seen = run, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(history_steps(self.run)[-1])


def test_history_follows_each_epoch_between_checkpoints(tmp_path, tiny_config, images):
    run = str(tmp_path / "run")
    history = HistoryAtEpochEnd(run)
    train(
        dataclasses.replace(tiny_config, steps=12),
        images,
        run,
        callbacks=[history],
        verbose=0,
    )
    assert history.seen == [4, 8, 12]  # history.csv, TensorBoard: no lag


class TwoMinutesAStep(keras.callbacks.Callback):
    """Moves the cadence's clock on by two minutes at each step."""

    def __init__(self, monkeypatch):
        super().__init__()
        self.now = 0.0
        monkeypatch.setattr(cadence, "_clock", lambda: self.now)

    def on_train_batch_end(self, batch, logs=None):
        self.now += 120.0


def test_checkpoints_come_once_the_minutes_have_passed(
    tmp_path, tiny_config, images, monkeypatch
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config, steps=12, max_checkpoints=10, checkpoint_minutes=5.0
    )
    train(config, images, run, callbacks=[TwoMinutesAStep(monkeypatch)], verbose=0)
    assert checkpoint_steps(run) == [3, 6, 9, 12]  # 6 min > 5 min, each


@pytest.mark.parametrize("minutes", [-1.0, float("nan"), float("inf"), "5"])
def test_checkpoint_minutes_must_be_a_finite_number(minutes):
    with pytest.raises(ConfigError, match="^checkpoint_minutes="):
        DCGANConfig(checkpoint_minutes=minutes)


def test_the_flag_is_checked_before_anything_is_done(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        exit_code(["train", "--output-dir", str(run), "--checkpoint-minutes", "-5"])
        == 2
    )
    assert "--checkpoint-minutes" in capsys.readouterr().err
    assert not run.exists()
