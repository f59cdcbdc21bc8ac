"""Progress that reads well anywhere: plain loss lines off a terminal, and a
bar whose line is always ended before anything else is written."""

import dataclasses
import logging
import re
import sys

import pytest
from helpers import BreakAtStep, SignalAtStep

from keras_dcgan.errors import (
    NonFiniteLossError,
    TrainingCollapsed,
    TrainingInterrupted,
)
from keras_dcgan.training import train
from keras_dcgan.training.progress import FIRST_LINE_STEP, Progress, line_every

ANSI = re.compile(r"\x1b\[")
LINE = re.compile(
    r"step (\d+)/12, epoch \d/3: d_loss [\d.]+, g_loss [\d.]+, "
    r"D\(x\) [\d.]+, D\(G\(z\)\) [\d.]+; [\d.]+ images/s, "
    r"ETA \d+:\d\d:\d\d$"
)


def test_off_a_terminal_loss_lines_come_early_without_terminal_codes(
    tmp_path, tiny_config, images, caplog, capsys
):
    caplog.set_level(logging.INFO, logger="keras_dcgan")
    config = dataclasses.replace(tiny_config, steps=12)
    train(config, images, str(tmp_path / "run"), verbose=2)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "keras_dcgan.training.progress"
    ]
    assert lines and all(LINE.match(line) for line in lines), lines
    first = int(LINE.match(lines[0]).group(1))
    assert first <= min(line_every(12), FIRST_LINE_STEP)
    out = capsys.readouterr()
    assert not ANSI.search(caplog.text + out.out + out.err)


def line_steps(progress, steps, caplog):
    """The steps after which `progress` logs a line, fed `steps`."""
    caplog.clear()
    logs = {"d_loss": 1.0, "g_loss": 1.0, "d_of_real": 0.5, "d_of_fake": 0.5}
    for step in steps:
        progress.update(step, 0, 1, logs)
    return [
        int(re.match(r"step (\d+)/", r.getMessage()).group(1)) for r in caplog.records
    ]


def test_lines_every_hundredth_of_the_run_after_ten_steps_and_each_minute(caplog):
    caplog.set_level(logging.INFO, logger="keras_dcgan.training.progress")
    assert line_steps(Progress(2, 3000, 14, 128), range(1, 100), caplog) == [
        10,
        30,
        60,
        90,
    ]
    assert line_steps(
        Progress(2, 840, 14, 128),
        range(1, 30),  # quickstart
        caplog,
    ) == [8, 16, 24]
    assert line_steps(
        Progress(2, 3000, 14, 128, first_step=1001), range(1002, 1030), caplog
    ) == [1011, 1020]  # resumed
    slow = Progress(2, 3000, 14, 128)
    assert not slow.line_due(5, slow.since)
    assert slow.line_due(5, slow.since + 60.0)  # a minute without a line


STOPS = {  # how a run stops mid-epoch: config, callback, error
    "signal": ({}, SignalAtStep(2), TrainingInterrupted),
    "non-finite": ({}, BreakAtStep(2, "nan"), NonFiniteLossError),
    "collapse": (
        {"collapse_patience": 2, "stop_on_collapse": True},
        BreakAtStep(2, "zeros"),
        TrainingCollapsed,
    ),
}


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_the_bar_line_is_ended_before_any_message(
    tmp_path, tiny_config, images, capsys, caplog, stop
):
    fields, callback, error = STOPS[stop]
    config = dataclasses.replace(tiny_config, steps=40, **fields)
    # A user who logs to stdout sees messages and the bar in one stream.
    handler = logging.StreamHandler(sys.stdout)
    logging.getLogger().addHandler(handler)
    try:
        with pytest.raises(error) as stopped:
            train(
                config, images, str(tmp_path / "run"), verbose=1, callbacks=[callback]
            )
    finally:
        logging.getLogger().removeHandler(handler)
    print(f"keras-dcgan: {stopped.value}")  # as the CLI reports it
    out = capsys.readouterr().out
    messages = [
        r.getMessage() for r in caplog.records if r.name.startswith("keras_dcgan")
    ]
    messages += ["Epoch 1/10", f"keras-dcgan: {stopped.value}"]
    assert "━" in out and (stop == "non-finite" or len(messages) > 2)
    for message in messages:  # each starts a line of its own
        assert out.startswith(message) or f"\n{message}" in out, message
