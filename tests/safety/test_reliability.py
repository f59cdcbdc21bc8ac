"""Crashes, signals, broken checkpoints and bad steps, with real processes."""

import csv
import dataclasses
import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from helpers import BreakAtStep, history_steps, tiny_flags

from keras_dcgan.cli import main
from keras_dcgan.errors import (
    NonFiniteLossError,
    RunError,
    RunWriteError,
    TrainingCollapsed,
)
from keras_dcgan.runs.checkpoints import CheckpointStore
from keras_dcgan.training import train
from keras_dcgan.training.monitor import Monitor

TINY_FLAGS = tiny_flags(num_samples=4, verbose=2)


def checkpoint_steps(run):
    names = os.listdir(os.path.join(run, "checkpoints"))
    return sorted(int(n[5:-6]) for n in names if n.endswith(".index"))


def saved_step(run):
    reader = tf.train.load_checkpoint(os.path.join(run, "checkpoints"))
    return int(reader.get_tensor("state/step/.ATTRIBUTES/VARIABLE_VALUE"))


# The child of `start_training(..., kill_during_save=STEP)`: the CLI, with
# the fault injected by the test (production code reads no test switch):
# at STEP, die by SIGKILL half-way through a save, leaving what a real kill
# leaves (a temp shard and a partial data file).
KILL_DURING_SAVE = """
import os, signal, sys
from keras_dcgan.runs.checkpoint_store import CheckpointStore
save, kill_at = CheckpointStore.save, int(sys.argv.pop(1))

def save_or_die(self, step):
    if step != kill_at:
        return save(self, step)
    prefix = os.path.join(self.directory, f"ckpt-{step}")
    os.makedirs(prefix + "_temp", exist_ok=True)
    shard = "part-00000-of-00001.data-00000-of-00001"
    with open(os.path.join(prefix + "_temp", shard), "wb") as f:
        f.write(bytes(64))
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(b"partial")
    os.kill(os.getpid(), signal.SIGKILL)

CheckpointStore.save = save_or_die
from keras_dcgan.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_training(npz, run, *flags, env=None, kill_during_save=None):
    """The CLI in a subprocess; stderr, where its progress lines go, goes to
    RUN.log (a pipe nobody reads would fill up and block the child)."""
    env = dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **(env or {})
    )
    start = os.path.getsize(f"{run}.log") if os.path.exists(f"{run}.log") else 0
    log = open(f"{run}.log", "a")
    entry = ["-m", "keras_dcgan"]
    if kill_during_save is not None:
        entry = ["-c", KILL_DURING_SAVE, str(kill_during_save)]
    process = subprocess.Popen(
        [
            sys.executable,
            *entry,
            "train",
            "--data",
            npz,
            "--output-dir",
            run,
            *TINY_FLAGS,
            *flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
        env=env,
    )
    process.log, process.log_start = f"{run}.log", start
    return process


def stderr_of(run):
    with open(f"{run}.log") as f:
        return f.read()


def wait_for_step(process, step=None):
    """Waits for the child's first progress line of step `step` or later
    (any step for None); verbose 2 logs "step N/TOTAL, ..." lines."""
    while process.poll() is None:
        with open(process.log) as f:
            f.seek(process.log_start)
            steps = re.findall(r"^step (\d+)/", f.read(), re.MULTILINE)
        if any(step is None or int(s) >= step for s in steps):
            return
        time.sleep(0.1)
    raise AssertionError(f"training ended before step {step}")


def resume(npz, run, steps):
    """`keras-dcgan train --resume` in-process: what a process killed left
    is on disk; the resume itself needs no process of its own."""
    assert (
        main(
            [
                "train",
                "--data",
                npz,
                "--output-dir",
                run,
                "--resume",
                "--steps",
                str(steps),
                "--verbose",
                "0",
            ]
        )
        == 0
    )


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_at_a_step_boundary_and_resume_finishes(
    tmp_path, npz_file, signum, code
):
    run = str(tmp_path / "run")
    process = start_training(
        npz_file, run, "--steps", "3000", "--checkpoint-every", "100000"
    )
    wait_for_step(process, 8)  # two 4-step epochs done
    process.send_signal(signum)
    process.communicate(timeout=120)
    err = stderr_of(run)
    assert process.returncode == code, err
    assert "checkpoint is saved" in err and "Traceback" not in err
    stopped = saved_step(run)
    assert 8 <= stopped < 3000
    assert history_steps(run) == list(range(1, stopped + 1))
    assert os.path.isfile(os.path.join(run, "losses.png"))
    resume(npz_file, run, stopped + 6)
    assert history_steps(run) == list(range(1, stopped + 7))  # none lost or repeated
    assert saved_step(run) == stopped + 6


def test_sigkill_at_random_moments_then_resume(tmp_path, npz_file):
    run = str(tmp_path / "run")
    rng = random.Random(0)
    flags = ["--steps", "4000", "--checkpoint-every", "3"]
    for attempt in range(3):
        process = start_training(
            npz_file, run, *flags, *(["--resume"] if attempt else [])
        )
        # The first run must reach a checkpoint (step 3) before its kill;
        # later ones may die anywhere, even before their first.
        wait_for_step(process, None if attempt else 4)
        time.sleep(rng.uniform(0.0, 1.5))
        process.kill()
        process.wait()
    before = saved_step(run)
    resume(npz_file, run, before + 4)
    assert saved_step(run) == before + 4
    assert history_steps(run) == list(range(1, before + 5))


def test_kill_during_a_checkpoint_write_keeps_the_previous_one(
    tmp_path, npz_file, caplog
):
    run = str(tmp_path / "run")
    process = start_training(
        npz_file,
        run,
        "--steps",
        "20",
        "--checkpoint-every",
        "3",
        kill_during_save=9,
    )
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    leftovers = os.listdir(os.path.join(run, "checkpoints"))
    assert "ckpt-9_temp" in leftovers and "ckpt-9.data-00000-of-00001" in leftovers
    resume(npz_file, run, 12)
    assert "left by an interrupted save" in caplog.text
    assert "at step 6" in caplog.text
    assert checkpoint_steps(run)[-1] == 12 and saved_step(run) == 12
    assert not [n for n in os.listdir(os.path.join(run, "checkpoints")) if "_temp" in n]


def quick_run(tmp_path, tiny_config, images, steps=6, **overrides):
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config, steps=steps, checkpoint_every=2, **overrides
    )
    train(config, images, run, verbose=0)
    return run, config


def test_a_garbage_latest_checkpoint_falls_back_to_the_previous(
    tmp_path, tiny_config, images, caplog
):
    run, config = quick_run(tmp_path, tiny_config, images)
    data = os.path.join(run, "checkpoints", "ckpt-6.data-00000-of-00001")
    with open(data, "r+b") as f:
        f.truncate(100)
    train(dataclasses.replace(config, steps=8), images, run, resume=True, verbose=0)
    assert "ckpt-6 is unreadable" in caplog.text
    assert history_steps(run) == list(range(1, 9))  # went on from step 4
    assert saved_step(run) == 8


def test_an_unreadable_checkpoint_index_is_a_clear_error(tmp_path, tiny_config, images):
    run, config = quick_run(tmp_path, tiny_config, images)
    index = os.path.join(run, "checkpoints", "checkpoint")
    for content in ("", "garbage {{{"):
        with open(index, "w") as f:
            f.write(content)
        with pytest.raises(RunError, match="index .* is empty or unreadable"):
            train(config, images, run, resume=True, verbose=0)
    assert checkpoint_steps(run) == [2, 4, 6]  # nothing deleted
    os.remove(index)  # as the message says: rebuilt from the files
    train(dataclasses.replace(config, steps=8), images, run, resume=True, verbose=0)
    assert saved_step(run) == 8


def test_max_to_keep_holds_across_restarts(tmp_path, tiny_config, images):
    run, config = quick_run(tmp_path, tiny_config, images, max_checkpoints=2)
    assert checkpoint_steps(run) == [4, 6]
    train(dataclasses.replace(config, steps=10), images, run, resume=True, verbose=0)
    assert checkpoint_steps(run) == [8, 10]


def test_a_non_finite_loss_stops_before_anything_is_saved(
    tmp_path, tiny_config, images
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=20, checkpoint_every=2)
    with pytest.raises(NonFiniteLossError, match="step 5") as info:
        train(config, images, run, callbacks=[BreakAtStep(5, "nan")], verbose=0)
    assert "ckpt-4" in str(info.value) and "learning_rate=" in str(info.value)
    assert checkpoint_steps(run) == [2, 4]
    assert history_steps(run) == [1, 2, 3, 4]
    assert not os.path.exists(os.path.join(run, "generator.keras"))
    # Epoch 1 (steps 1-4) ended before the bad step; epoch 2 never did.
    assert os.listdir(os.path.join(run, "samples")) == ["epoch_0001.png"]
    train(
        dataclasses.replace(config, steps=6), images, run, resume=True, verbose=0
    )  # the last good checkpoint is intact
    assert saved_step(run) == 6


def test_mode_collapse_is_flagged_and_can_stop_the_run(
    tmp_path, tiny_config, images, caplog
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(
        tiny_config, steps=50, collapse_patience=3, stop_on_collapse=True
    )
    with pytest.raises(TrainingCollapsed, match="mode_collapse"):
        train(config, images, run, callbacks=[BreakAtStep(2, "zeros")], verbose=0)
    assert "mode collapse" in caplog.text
    with open(os.path.join(run, "history.csv")) as f:
        events = [(r["step"], r["event"]) for r in csv.DictReader(f) if r["event"]]
    # Flagged once, within patience (3) of the zeroed step 2: an untrained
    # tiny generator's fakes are nearly alike already at step 1.
    assert len(events) == 1 and events[0][1] == "mode_collapse"
    assert int(events[0][0]) <= 4
    assert os.path.isfile(os.path.join(run, "generator.keras"))  # saved


def test_monitor_flags_a_discriminator_that_wins_outright():
    monitor = Monitor(patience=3)
    logs = dict(d_loss=0.001, d_of_real=0.999, d_of_fake=0.001, diversity=0.8)
    assert [monitor.check(s, logs, None) for s in (1, 2, 3, 4)] == [
        "",
        "",
        "discriminator_wins",
        "",
    ]
    assert monitor.check(5, dict(logs, d_loss=0.5), None) == ""
    assert Monitor(patience=0).check(1, logs, None) == ""


def test_a_failed_checkpoint_write_is_a_clear_error(
    tmp_path, tiny_config, images, monkeypatch
):
    run, config = quick_run(tmp_path, tiny_config, images)

    def disk_full(self, checkpoint_number=None):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", disk_full)
    with pytest.raises(
        RunWriteError, match="No space left.*previous checkpoints are intact"
    ):
        train(dataclasses.replace(config, steps=8), images, run, resume=True, verbose=0)
    assert checkpoint_steps(run) == [2, 4, 6]


def test_planted_symlinks_are_refused(tmp_path, tiny_config, images):
    run = tmp_path / "run"
    run.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (run / "samples").symlink_to(outside)
    with pytest.raises(RunError, match="symbolic link"):
        train(tiny_config, images, str(run), overwrite=True, verbose=0)
    assert outside.is_dir() and not os.listdir(outside)


def test_checkpoint_store_needs_nothing_but_its_directory(tmp_path):
    store = CheckpointStore(
        str(tmp_path / "ck"), tf.train.Checkpoint(v=tf.Variable(1.0)), 2
    )
    with pytest.raises(RunError, match="no complete checkpoint"):
        store.restore_latest()


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("moment", ["lock", "config"])
def test_a_signal_before_the_first_step_needs_no_overwrite(
    tmp_path, npz_file, signum, code, moment
):
    """SIGTERM/SIGINT while the run is being set up (the lock just taken;
    config.json just written, the models being built): exit 143 / 130 in
    one line, and the run goes on with `--resume` (from a step-0
    checkpoint), or nothing was written and a plain new run starts: never
    a run that needs --overwrite (issue 21, point 9)."""
    run = str(tmp_path / "run")
    process = start_training(npz_file, run, "--steps", "4")
    name = {"lock": ".keras_dcgan.lock", "config": "config.json"}[moment]
    watched = os.path.join(run, name)
    deadline = time.monotonic() + 300
    while not os.path.exists(watched):
        assert process.poll() is None, stderr_of(run)
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signum)
    process.communicate(timeout=300)
    err = stderr_of(run)
    assert process.returncode == code, err
    assert "Traceback" not in err
    if moment == "config":  # caught while the models were being built
        assert "after step 0; the checkpoint is saved" in err, err
    if os.path.exists(os.path.join(run, "config.json")):
        resume(npz_file, run, 4)
    else:  # stopped before the directory was written: nothing to resume
        assert set(os.listdir(run)) <= {".keras_dcgan.lock"}
        argv = ["train", "--data", npz_file, "--output-dir", run, *TINY_FLAGS]
        assert main([*argv, "--steps", "4"]) == 0
    assert saved_step(run) == 4
