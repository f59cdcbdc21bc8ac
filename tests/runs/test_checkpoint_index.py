"""Only the run's own checkpoint files are ever opened or deleted (issue 21,
points 1, 2, 3, 5, 7 and 8): run paths TensorFlow would read as patterns,
index entries that lead outside the run, FIFOs planted among its files,
readers beside a training that rotates checkpoints, checkpoints holding
non-finite weights, and what a reader is told when there is no checkpoint."""

import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, make_images, snapshot, tiny_flags, train_cli

from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.errors import RunError
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.quality.classifier import train_classifier
from keras_dcgan.runs import load_generator, load_run_config
from keras_dcgan.runs.checkpoints import (
    CheckpointStore,
    TrainingState,
    complete_checkpoints,
    make_checkpoint,
    restore_models,
)
from keras_dcgan.training import train

CONFIG = DCGANConfig(
    **dict(TINY, num_samples=4), steps=4, checkpoint_every=2, max_checkpoints=2
)
# A name per character TensorFlow's matcher reads as a pattern, each
# matching a sibling run (mnist_a, mnist_b, run1) as a pattern.
PATTERN_NAMES = {
    "*": "mnist*",
    "?": "mnist_?",
    "[": "run[1]",
    "]": "run1]",
    "\\": "run\\1",
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """`base`: a run with checkpoints 2 and 4 (and generator.keras);
    `other`: another run (another seed), checkpoints 4 and 6; the data as
    .npz, latents and a classifier for the readers."""
    root = tmp_path_factory.mktemp("index")
    x = make_images(64)
    npz = str(root / "blobs.npz")
    np.savez(npz, x=x)
    labelled = str(root / "labelled.npz")
    np.savez(labelled, x=x, y=(x.reshape(64, -1).mean(axis=1) > 60))
    clf = str(root / "clf.keras")
    train_classifier(
        x[..., None], np.load(labelled)["y"].astype("int64"), clf, epochs=1
    )
    np.save(root / "z.npy", sample_latents(4, 8, 0))
    train(CONFIG, from_array(x, 28, 1), str(root / "base"), verbose=0)
    other = dataclasses.replace(CONFIG, seed=7, steps=6)
    train(other, from_array(x, 28, 1), str(root / "other"), verbose=0)
    return {
        "root": root,
        "npz": npz,
        "data": labelled,
        "clf": clf,
        "z": str(root / "z.npy"),
        "base": str(root / "base"),
        "other": str(root / "other"),
    }


def copy_run(made, target, generator=False):
    """A copy of the base run at `target`; without its generator.keras
    unless asked, so that readers read its checkpoints."""
    shutil.copytree(made["base"], target)
    if not generator:
        os.remove(os.path.join(target, "generator.keras"))
    return str(target)


def by_hand(run, path, seed=3, num=4):
    """The images `sample --seed 3 --num 4` gives from checkpoint `path`,
    restored without keras_dcgan's loading code."""
    gan = DCGAN(load_run_config(run))
    make_checkpoint(gan, TrainingState()).restore(path).expect_partial()
    return generate(gan.generator, sample_latents(num, 8, seed))


def error_line(capsys):
    """The one line a refused command printed."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("keras-dcgan")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("keras-dcgan: error: "), err
    return lines[0]


def readers(made, out):
    """Every command that reads a run's generator, with its other flags."""
    return {
        "sample": ["--output", f"{out}/o.png"],
        "export": ["--output-dir", f"{out}/served"],
        "interpolate": ["--output", f"{out}/o.png"],
        "arithmetic": [
            "--latents",
            made["z"],
            "--plus",
            "0",
            "--output",
            f"{out}/o.png",
        ],
        "nearest": ["--data", made["data"], "--output", f"{out}/o.png"],
        "evaluate": [
            "--data",
            made["data"],
            "--features",
            f"classifier:{made['clf']}",
            "--num",
            "16",
            "--batch-size",
            "16",
        ],
    }


def siblings(made, root):
    """Runs beside the one under test, each a name a pattern would match."""
    for name in ("mnist_a", "mnist_b", "run1"):
        copy_run(made, root / name, generator=True)


# -- Point 1: run paths with pattern characters ------------------------------


@pytest.mark.parametrize("mode", ["new", "resume", "overwrite"])
@pytest.mark.parametrize("char", [*PATTERN_NAMES, "parent"])
def test_train_refuses_a_run_path_with_a_pattern_character(
    made, tmp_path, capsys, char, mode
):
    siblings(made, tmp_path / "runs")
    if char == "parent":  # a pattern in a folder above the run
        copy_run(made, tmp_path / "a1" / "run")
        target = tmp_path / "a[1]" / "run"
    else:
        target = tmp_path / "runs" / PATTERN_NAMES[char]
    if mode != "new":
        copy_run(made, target)
    before = snapshot(tmp_path)
    flags = {"new": [], "resume": ["--resume"], "overwrite": ["--overwrite"]}[mode]
    code = train_cli(
        made["npz"],
        str(target),
        "--steps",
        "6",
        "--checkpoint-every",
        "1",
        "--max-checkpoints",
        "1",
        *flags,
        *tiny_flags(),
    )
    assert code == 2
    line = error_line(capsys)
    named = "[" if char == "parent" else char
    assert f"holds '{named}'" in line and "pattern" in line, line
    assert "--output-dir" in line and "* ? [ ] \\" in line, line
    assert snapshot(tmp_path) == before  # siblings, outside, the run: all


@pytest.mark.parametrize("char", [*PATTERN_NAMES, "parent"])
def test_every_reader_refuses_a_run_path_with_a_pattern_character(
    made, tmp_path, capsys, char
):
    siblings(made, tmp_path / "runs")
    if char == "parent":
        copy_run(made, tmp_path / "a1" / "run")
        run = copy_run(made, tmp_path / "a[1]" / "run")
    else:
        run = copy_run(made, tmp_path / "runs" / PATTERN_NAMES[char])
    out = tmp_path / "out"
    out.mkdir()
    named = "[" if char == "parent" else char
    before = snapshot(tmp_path)
    for command, flags in readers(made, out).items():
        assert main([command, run, *flags]) == 2, command
        line = error_line(capsys)
        assert f"holds '{named}'" in line and "move the run" in line, (command, line)
    for read in (load_generator, restore_models):
        with pytest.raises(RunError, match=re.escape(f"holds '{named}'")):
            read(run)
    assert snapshot(tmp_path) == before


# -- Point 2: index entries that are not the run's own -----------------------


def tampered_index(run, entries, only=False):
    """Adds `entries` to the run's checkpoint index as its newest (or, with
    `only`, its only) checkpoints, with times the manager would rotate."""
    directory = os.path.join(run, "checkpoints")
    state = tf.train.get_checkpoint_state(directory)
    names = (
        [] if only else [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    )
    times = [] if only else list(state.all_model_checkpoint_timestamps)
    start = times[-1] if times else time.time() - 60
    names += entries
    times += [start + 1 + i for i in range(len(entries))]
    lines = [f"model_checkpoint_path: {json.dumps(names[-1])}"]
    lines += [f"all_model_checkpoint_paths: {json.dumps(n)}" for n in names]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in times]
    lines.append(f"last_preserved_timestamp: {min(times) - 10!r}")
    with open(os.path.join(directory, "checkpoint"), "w") as f:
        f.write("\n".join(lines) + "\n")


def foreign_entries(kind, run, other):
    """Index entries of one kind, each naming checkpoint files outside
    `run`: another run's, siblings' (by pattern) or its own (by pattern)."""
    checkpoints = os.path.join(run, "checkpoints")
    theirs = os.path.join(other, "checkpoints")
    if kind == "absolute":
        return [os.path.join(theirs, "ckpt-6")]
    if kind == "dotdot":
        return [os.path.relpath(os.path.join(theirs, "ckpt-6"), checkpoints)]
    if kind == "linked folder":
        os.symlink(theirs, os.path.join(checkpoints, "elsewhere"))
        return ["elsewhere/ckpt-6"]
    if kind == "linked files":
        for suffix in (".index", ".data-00000-of-00001"):
            os.symlink(
                os.path.join(theirs, "ckpt-6" + suffix),
                os.path.join(checkpoints, "ckpt-9" + suffix),
            )
        return ["ckpt-9"]
    if kind == "sibling pattern":
        return ["../../mnist_?/checkpoints/ckpt-4", "../../run[1]/checkpoints/ckpt-2"]
    assert kind == "own pattern"
    return ["ckpt-*", "ckpt-[0-9]"]


KINDS = [
    "absolute",
    "dotdot",
    "linked folder",
    "linked files",
    "sibling pattern",
    "own pattern",
]


def ignored_warnings(caplog):
    return [r for r in caplog.records if "Ignoring" in r.getMessage()]


@pytest.mark.parametrize("kind", KINDS)
def test_index_entries_outside_the_run_are_ignored_never_opened_or_deleted(
    made, tmp_path, capsys, caplog, kind
):
    runs = tmp_path / "runs"
    siblings(made, runs)
    run = copy_run(made, runs / "run")
    other = shutil.copytree(made["other"], tmp_path / "others" / "other")
    tampered_index(run, foreign_entries(kind, run, str(other)))
    outside = {"others": snapshot(tmp_path / "others")}
    outside.update({n: snapshot(runs / n) for n in ("mnist_a", "mnist_b", "run1")})
    own = by_hand(run, os.path.join(run, "checkpoints", "ckpt-4"))

    # A reader takes the run's newest own checkpoint, warns once, changes nothing.
    before = snapshot(run)
    out = str(tmp_path / "s.npz")
    with caplog.at_level(logging.WARNING):
        assert main(["sample", run, "--num", "4", "--seed", "3", "--output", out]) == 0
    np.testing.assert_array_equal(np.load(out)["x"], own)
    assert len(ignored_warnings(caplog)) == 1, caplog.text
    caplog.clear()
    z = sample_latents(4, 8, 3)
    np.testing.assert_array_equal(generate(load_generator(run, "latest"), z), own)
    assert len(ignored_warnings(caplog)) == 1
    assert snapshot(run) == before

    # --resume goes on from the run's own newest checkpoint; rotation deletes
    # only the run's own files.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        code = main(
            ["train", "--data", made["npz"], "--output-dir", run, "--resume"]
            + ["--steps", "8", "--verbose", "0"]
        )
    if kind == "linked files":  # links named as the run's own checkpoint files
        assert code == 2
        assert "ckpt-9.data-00000-of-00001 is a symbolic link" in error_line(capsys)
        assert snapshot(run) == before
    else:
        assert code == 0, capsys.readouterr().err
        assert len(ignored_warnings(caplog)) == 1, caplog.text
        assert "ckpt-4 at step 4" in caplog.text  # resumed from its own
        checkpoints = os.path.join(run, "checkpoints")
        assert complete_checkpoints(checkpoints) == {"ckpt-6", "ckpt-8"}
        state = tf.train.get_checkpoint_state(checkpoints)
        assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [
            "ckpt-6",
            "ckpt-8",
        ]
    assert outside == {"others": snapshot(tmp_path / "others")} | {
        n: snapshot(runs / n) for n in ("mnist_a", "mnist_b", "run1")
    }


def test_an_index_listing_only_an_outside_checkpoint_restores_the_runs_own(
    made, tmp_path, caplog
):
    run = copy_run(made, tmp_path / "run")
    other = shutil.copytree(made["other"], tmp_path / "other")
    tampered_index(run, [os.path.join(other, "checkpoints", "ckpt-6")], only=True)
    before = snapshot(other)
    own = by_hand(run, os.path.join(run, "checkpoints", "ckpt-4"))
    np.testing.assert_array_equal(
        generate(load_generator(run), sample_latents(4, 8, 3)), own
    )
    with caplog.at_level(logging.INFO):
        train(
            dataclasses.replace(CONFIG, steps=6),
            from_array(make_images(64), 28, 1),
            run,
            resume=True,
            verbose=0,
        )
    assert "ckpt-4 at step 4" in caplog.text
    assert "left by an interrupted save" not in caplog.text  # its own kept
    assert complete_checkpoints(os.path.join(run, "checkpoints")) == {
        "ckpt-4",
        "ckpt-6",
    }
    assert snapshot(other) == before


def test_the_best_checkpoints_index_is_held_to_the_same_rule(made, tmp_path, caplog):
    """checkpoints/best/ has a manager of its own (max 1), rotating on the
    next best score: an outside entry in its index is never deleted."""
    run = copy_run(made, tmp_path / "run")
    other = shutil.copytree(made["other"], tmp_path / "other")
    best = os.path.join(run, "checkpoints", "best")
    os.mkdir(best)
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(os.path.join(run, "checkpoints", "ckpt-2" + suffix), best)
    with open(os.path.join(best, "best.json"), "w") as f:
        json.dump({"metric": "is", "value": -1.0, "step": 2}, f)  # any score beats it
    outside = os.path.join(other, "checkpoints", "ckpt-6")
    with open(os.path.join(best, "checkpoint"), "w") as f:
        f.write(
            'model_checkpoint_path: "ckpt-2"\n'
            f"all_model_checkpoint_paths: {json.dumps(outside)}\n"
            'all_model_checkpoint_paths: "ckpt-2"\n'
            f"all_model_checkpoint_timestamps: {time.time() - 20}\n"
            f"all_model_checkpoint_timestamps: {time.time() - 10}\n"
            f"last_preserved_timestamp: {time.time() - 30}\n"
        )
    before = snapshot(other)
    config = dataclasses.replace(
        CONFIG,
        steps=6,
        eval_every=2,
        eval_metric="is",
        eval_features=f"classifier:{made['clf']}",
        eval_num=32,
    )
    with caplog.at_level(logging.WARNING):
        train(config, from_array(make_images(64), 28, 1), run, resume=True, verbose=0)
    assert snapshot(other) == before
    assert complete_checkpoints(best) == {"ckpt-6"}  # the new best, alone
    assert len(ignored_warnings(caplog)) == 1, caplog.text


# -- Point 3: FIFOs planted among the checkpoint files -----------------------

FIFO_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from keras_dcgan.cli import main
    from keras_dcgan.errors import RunError
    from keras_dcgan.runs import load_generator

    run, npz, out = sys.argv[1:]
    codes = {}
    codes["sample"] = main(["sample", run, "--output", out + "/s.png"])
    codes["export"] = main(["export", run, "--output-dir", out + "/served"])
    try:
        load_generator(run)
        codes["load_generator"] = 0
    except RunError as e:
        codes["load_generator"] = 2
    codes["resume"] = main(["train", "--data", npz, "--output-dir", run,
                            "--resume", "--steps", "6", "--verbose", "0"])
    print(json.dumps(codes))
    """
)

# Where a FIFO is planted; what the readers and --resume then do (0: they
# use the run's other checkpoint; 2: refused in one line).
FIFOS = {
    "index": ("checkpoints/checkpoint", 2, 2),
    "checkpoint index": ("checkpoints/ckpt-4.index", 0, 2),
    "data shard": ("checkpoints/ckpt-4.data-00000-of-00001", 0, 2),
    "entry outside": (None, 0, 0),
}


@pytest.mark.parametrize("where", sorted(FIFOS))
def test_a_fifo_among_the_checkpoints_never_hangs_a_command(made, tmp_path, where):
    run = copy_run(made, tmp_path / "run")
    planted, readers_code, resume_code = FIFOS[where]
    outside = tmp_path / "outside"
    outside.mkdir()
    if planted:
        os.remove(os.path.join(run, planted))
        os.mkfifo(os.path.join(run, planted))
    else:  # an index entry naming a FIFO outside the run
        for suffix in (".index", ".data-00000-of-00001"):
            os.mkfifo(outside / ("ckpt-5" + suffix))
        tampered_index(run, [str(outside / "ckpt-5")])
    before = snapshot(outside)
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", FIFO_SCRIPT, run, made["npz"], str(out)],
        capture_output=True,
        text=True,
        timeout=240,  # a hang fails here instead of hanging the suite
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    codes = json.loads(result.stdout.strip().splitlines()[-1])
    assert codes == {
        "sample": readers_code,
        "export": readers_code,
        "load_generator": readers_code,
        "resume": resume_code,
    }, result.stderr[-3000:]
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("keras-dcgan: error:")
    ]
    assert len(errors) == list(codes.values()).count(2) - (codes["load_generator"] == 2)
    assert all("is a FIFO" in line for line in errors), errors
    if planted:  # never deleted
        assert os.path.exists(os.path.join(run, planted))
    assert snapshot(outside) == before


# -- Point 5: readers beside a training that rotates checkpoints -------------


THREADS, READS = 6, 30


def test_readers_never_fail_while_training_rotates_checkpoints(made, tmp_path):
    run = str(tmp_path / "run")
    log = open(tmp_path / "train.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_dcgan", "train", "--data", made["npz"]]
        + ["--output-dir", run, "--steps", "100000", "--checkpoint-every", "1"]
        + ["--max-checkpoints", "2", *tiny_flags()],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    checkpoints = os.path.join(run, "checkpoints")
    try:
        deadline = time.monotonic() + 120
        while not (os.path.isdir(checkpoints) and complete_checkpoints(checkpoints)):
            assert process.poll() is None, open(tmp_path / "train.log").read()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        first = max(int(n[5:]) for n in complete_checkpoints(checkpoints))
        failures = []

        def store_reader():
            # The store every reader uses, restoring again and again: six
            # at once widen the window between reading the index and
            # restoring (the old code failed 1 to 7 of 180 times so).
            gan = DCGAN(load_run_config(run))
            checkpoint = make_checkpoint(gan, TrainingState())
            for _ in range(READS):
                try:
                    CheckpointStore(
                        checkpoints, checkpoint, 2, read_only=True
                    ).restore_latest()
                except Exception as e:  # noqa: BLE001 (a thread's error is lost)
                    failures.append(f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=store_reader) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(10):
            try:
                load_generator(run, "latest")
            except RunError as e:
                failures.append(str(e))
        for _ in range(2):
            out = str(tmp_path / "s.png")
            if main(["sample", run, "--checkpoint", "latest", "--output", out]):
                failures.append("sample")
        last = max(int(n[5:]) for n in complete_checkpoints(checkpoints))
        assert process.poll() is None, "training ended before the readers"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        log.close()
    calls = THREADS * READS + 12
    assert failures == [], f"{len(failures)} of {calls}: {failures[:3]}"
    assert last - first >= 10, (first, last)  # training rotated all along


# -- Point 7: checkpoints holding non-finite weights -------------------------


def poisoned_checkpoint(run, part, value, step=6):
    """Saves checkpoint `step` of `run` with a kernel of G or D set to
    `value`, as an older version could have."""
    gan = DCGAN(load_run_config(run))
    checkpoint = make_checkpoint(gan, TrainingState())
    store = CheckpointStore(os.path.join(run, "checkpoints"), checkpoint, 5)
    store.restore_latest()
    model = gan.generator if part == "generator" else gan.discriminator
    kernel = next(w for w in model.weights if w.path.endswith("kernel"))
    kernel.assign(np.full(kernel.shape, value, "float32"))
    store.save(step)


@pytest.mark.parametrize(
    "part,value",
    [("generator", np.nan), ("generator", np.inf), ("discriminator", -np.inf)],
)
def test_readers_skip_or_refuse_a_checkpoint_with_non_finite_weights(
    made, tmp_path, capsys, caplog, part, value
):
    run = copy_run(made, tmp_path / "run")
    poisoned_checkpoint(run, part, value)
    own = by_hand(run, os.path.join(run, "checkpoints", "ckpt-4"))
    out = str(tmp_path / "s.npz")
    before = snapshot(run)
    with caplog.at_level(logging.WARNING):
        assert main(["sample", run, "--num", "4", "--seed", "3", "--output", out]) == 0
    assert "ckpt-6 holds non-finite weights" in caplog.text
    np.testing.assert_array_equal(np.load(out)["x"], own)
    z = sample_latents(4, 8, 3)
    np.testing.assert_array_equal(generate(load_generator(run, "latest"), z), own)
    for command, flags in readers(made, tmp_path).items():
        assert main([command, run, *flags, "--checkpoint", "6"]) == 2, command
        assert "ckpt-6 holds NaN or infinite weights" in error_line(capsys)
    with pytest.raises(RunError, match="NaN or infinite"):
        load_generator(run, 6)
    assert snapshot(run) == before


# -- Point 8: a reader is never told to --overwrite -------------------------


@pytest.mark.parametrize("left", ["nothing", "a partial save"])
def test_a_reader_of_a_run_without_a_checkpoint_is_told_to_wait(
    made, tmp_path, capsys, left
):
    run = copy_run(made, tmp_path / "run")
    checkpoints = os.path.join(run, "checkpoints")
    shutil.rmtree(checkpoints)
    os.mkdir(checkpoints)
    if left == "a partial save":
        with open(os.path.join(checkpoints, "ckpt-2.data-00000-of-00001"), "wb") as f:
            f.write(b"partial")
    before = snapshot(run)
    for command, flags in readers(made, tmp_path).items():
        assert main([command, run, *flags]) == 2, command
        line = error_line(capsys)
        assert "--overwrite" not in line and "no complete checkpoint yet" in line, line
    with pytest.raises(RunError, match="no complete checkpoint yet") as info:
        load_generator(run)
    assert "--overwrite" not in str(info.value)
    assert snapshot(run) == before
