"""A run directory deletes and overwrites only its own files, has one writer,
and cannot be made to write outside itself (issue 12, failures 1, 2, 3, 7)."""

import dataclasses
import json
import os
import signal
import socket
import stat
import subprocess
import sys

import pytest
import tensorflow as tf
from helpers import TINY, make_images, snapshot, tiny_flags, train_cli

from keras_dcgan.cli import main
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import from_array
from keras_dcgan.errors import RunError
from keras_dcgan.generator import export
from keras_dcgan.networks import build_generator
from keras_dcgan.runs import ownership
from keras_dcgan.training import train

TINY_FLAGS = tiny_flags(num_samples=4, verbose=0)
VICTIM = b"precious, not the run's\n"


def tiny_run(path, steps=4, **fields):
    config = DCGANConfig(**dict(TINY, num_samples=4, steps=steps, **fields))
    train(config, from_array(make_images(64), 28, 1), str(path), verbose=0)
    return config


def another_project(path):
    """Files of another tool, under names a run also uses."""
    for name in ("samples", "checkpoints", "tensorboard"):
        (path / name).mkdir(parents=True)
    (path / "config.json").write_text('{"lr": 0.1}')
    (path / "history.csv").write_text("epoch,loss\n1,0.5\n")
    (path / "checkpoints" / "model_epoch_90.pt").write_bytes(VICTIM)
    (path / "samples" / "epoch_0001.png").write_bytes(VICTIM)
    (path / "notes.txt").write_bytes(VICTIM)


def one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("keras-dcgan")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("keras-dcgan: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "where,output_dir,flags",
    [
        ("cwd", "", []),
        ("cwd", ".", ["--overwrite"]),
        ("parent", "..", ["--overwrite"]),
        ("home", "~", ["--overwrite"]),
    ],
)
def test_the_current_parent_or_home_directory_is_never_emptied(
    tmp_path, npz_file, monkeypatch, capsys, where, output_dir, flags
):
    project = tmp_path / "project"
    another_project(project)
    (project / "sub").mkdir()
    monkeypatch.setenv("HOME", str(project))
    monkeypatch.chdir(
        project / "sub"
        if where == "parent"
        else tmp_path
        if where == "home"
        else project
    )
    before = snapshot(project)
    code = train_cli(
        npz_file, os.path.expanduser(output_dir), "--steps", "1", *flags, *TINY_FLAGS
    )
    assert code == 2
    err = one_line_error(capsys)
    assert "--output-dir" in err and ("empty" in err or "name a new" in err)
    assert snapshot(project) == before


def test_overwrite_refuses_another_tools_files(tmp_path, npz_file, capsys):
    project = tmp_path / "project"
    another_project(project)
    before = snapshot(project)
    assert (
        train_cli(npz_file, str(project), "--overwrite", "--steps", "1", *TINY_FLAGS)
        == 2
    )
    assert "not a keras_dcgan run" in one_line_error(capsys)
    assert snapshot(project) == before


def test_overwrite_removes_only_what_the_manifest_lists(tmp_path, images):
    run = tmp_path / "run"
    config = tiny_run(run, steps=3)
    (run / "notes.txt").write_bytes(VICTIM)
    (run / "model_epoch_90.pt").write_bytes(VICTIM)
    (tmp_path / "victim.txt").write_bytes(VICTIM)
    # An absolute path, to a folder of this test's own: a test must not be
    # able to harm the machine if the code it checks regresses.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_bytes(VICTIM)
    # A manifest that came with a received run cannot name other files.
    marker = run / ownership.MARKER
    content = json.loads(marker.read_text())
    content["entries"] += ["notes.txt", "../victim.txt", str(outside)]
    marker.write_text(json.dumps(content))
    history = train(
        dataclasses.replace(config, steps=2),
        images,
        str(run),
        overwrite=True,
        verbose=0,
    )
    assert history["step"] == [1, 2]
    for path in (
        run / "notes.txt",
        run / "model_epoch_90.pt",
        tmp_path / "victim.txt",
        outside / "kept.txt",
    ):
        assert path.read_bytes() == VICTIM
    assert set(json.loads(marker.read_text())["entries"]) >= {
        "config.json",
        "checkpoints",
        "samples",
        "history.csv",
    }


def test_a_run_of_an_earlier_version_is_continued_not_deleted(tmp_path, images):
    run = tmp_path / "run"
    config = tiny_run(run, steps=2)
    os.remove(run / ownership.MARKER)  # as the previous version left it
    before = snapshot(run)
    with pytest.raises(RunError, match="not a keras_dcgan run"):
        train(config, images, str(run), overwrite=True, verbose=0)
    assert snapshot(run) == before
    train(
        dataclasses.replace(config, steps=4), images, str(run), resume=True, verbose=0
    )  # its checkpoint proves it a run: it gets the marker
    assert ownership.read_manifest(str(run))
    train(config, images, str(run), overwrite=True, verbose=0)


HOLD_LOCK = """
import sys, time
from keras_dcgan.runs.runlock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_writer_is_refused_naming_the_holder(tmp_path, npz_file, capsys):
    run = tmp_path / "run"
    assert train_cli(npz_file, str(run), "--steps", "2", *TINY_FLAGS) == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        before = snapshot(run)
        assert (
            train_cli(npz_file, str(run), "--resume", "--steps", "4", "--verbose", "0")
            == 2
        )
        err = one_line_error(capsys)
        assert f"PID {holder.pid} on host {socket.gethostname()}" in err
        assert snapshot(run) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The OS released the killed holder's lock: the run goes on.
    assert (
        train_cli(npz_file, str(run), "--resume", "--steps", "4", "--verbose", "0") == 0
    )


# Where the previous version wrote its temporary files, and final names a
# symbolic link in the run could stand for.
PLANTED = [
    "history.csv.tmp",
    ".tmp-generator.keras",
    ".tmp-discriminator.keras",
    "config.json.tmp",
    "losses.png.tmp.png",
    "progress.gif.tmp.gif",
    "samples/epoch_0002.png.tmp.png",
    "samples/epoch_0002.png",
    "samples/epoch_0099.png",
]


def test_planted_links_never_redirect_a_write(tmp_path, images):
    run = tmp_path / "run"
    config = tiny_run(run, steps=4, checkpoint_every=2)
    victim, victim_dir = tmp_path / "victim.txt", tmp_path / "victim_dir"
    victim.write_bytes(VICTIM)
    victim_dir.mkdir()
    for name in PLANTED:
        (run / name).symlink_to(victim)
    (run / "checkpoints" / "ckpt-6_temp").symlink_to(victim_dir)
    train(
        dataclasses.replace(config, steps=8), images, str(run), resume=True, verbose=0
    )
    assert victim.read_bytes() == VICTIM and not os.listdir(victim_dir)
    train(config, images, str(run), overwrite=True, verbose=0)
    assert victim.read_bytes() == VICTIM
    # A link in place of one of the run's own names is refused.
    moved = tmp_path / "moved"
    for name, target in (
        ("history.csv", victim),
        (".keras_dcgan.lock", victim),
        ("checkpoints/best", victim_dir),
    ):
        if (run / name).exists():
            os.replace(run / name, moved)
        (run / name).symlink_to(target)
        with pytest.raises(RunError, match="symbolic link"):
            train(config, images, str(run), resume=True, verbose=0)
        os.remove(run / name)
        if moved.exists():
            os.replace(moved, run / name)
    assert victim.read_bytes() == VICTIM and not os.listdir(victim_dir)


def test_sample_reads_a_run_without_changing_it(tmp_path):
    run = tmp_path / "run"
    tiny_run(run, steps=6, checkpoint_every=2)
    os.remove(run / "generator.keras")  # so the checkpoint is read
    checkpoints = run / "checkpoints"
    (checkpoints / "ckpt-8_temp").mkdir()  # what a kill during a save leaves
    (checkpoints / "ckpt-8.data-00000-of-00001").write_bytes(b"partial")
    for remove_index in (False, True):
        if remove_index:
            os.remove(checkpoints / "checkpoint")
        before = snapshot(run)
        assert (
            main(
                [
                    "sample",
                    str(run),
                    "--num",
                    "4",
                    "--output",
                    str(tmp_path / "grid.png"),
                ]
            )
            == 0
        )
        assert snapshot(run) == before


def test_an_exported_version_is_readable_by_a_server_user(tmp_path):
    generator = build_generator(DCGANConfig(**TINY))
    old = os.umask(0o022)
    try:
        target = export.export_saved_model(generator, str(tmp_path / "serve"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o755
    for folder, dirs, files in os.walk(target):
        for name in dirs:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o005 == 0o005
        for name in files:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o004


def test_a_full_disk_exits_1_and_keeps_the_checkpoints(
    tmp_path, npz_file, monkeypatch, capsys
):
    run = str(tmp_path / "run")
    assert train_cli(npz_file, run, "--steps", "2", *TINY_FLAGS) == 0

    def disk_full(self, checkpoint_number=None):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", disk_full)
    assert train_cli(npz_file, run, "--resume", "--steps", "4", "--verbose", "0") == 1
    err = one_line_error(capsys)
    assert "No space left" in err and "previous checkpoints are intact" in err
    assert tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))


def test_bad_eval_features_leave_no_half_made_run(tmp_path, npz_file, capsys):
    run = tmp_path / "run"
    assert (
        train_cli(
            npz_file,
            str(run),
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--eval-features",
            f"classifier:{tmp_path / 'missing.keras'}",
            *TINY_FLAGS,
        )
        == 2
    )
    assert "no such file" in one_line_error(capsys)
    assert not run.exists()
    assert train_cli(npz_file, str(run), "--steps", "2", *TINY_FLAGS) == 0
