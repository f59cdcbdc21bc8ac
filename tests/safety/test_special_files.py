"""Files planted in a run: FIFOs and other special files, and JSON that is
garbage, too deep or of the wrong types, at every file a command opens
(issue 21, points 3, 6, 7 and 8)."""

import contextlib
import fcntl
import json
import os
import shutil
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest
from helpers import make_images, snapshot, tiny_flags, train_cli
from PIL import Image

from keras_dcgan.cli import main
from keras_dcgan.errors import DataError
from keras_dcgan.quality import classifier, features

TINY_FLAGS = tiny_flags(num_samples=4, verbose=0)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A finished 8-step run (two epochs: two sample grids) and its data."""
    root = tmp_path_factory.mktemp("special")
    npz = str(root / "blobs.npz")
    np.savez(npz, x=make_images(64))
    run = str(root / "base")
    assert train_cli(npz, run, *TINY_FLAGS, "--steps", "8") == 0
    return {"root": root, "npz": npz, "run": run}


def fresh_copy(work, name):
    run = str(work["root"] / name)
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(work["run"], run)
    return run


def one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("keras-dcgan")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("keras-dcgan: error: "), err
    return lines[0]


# Every file of a run that a command opens, and the exit code each command
# gives with a FIFO there: 0 where it does not need the file (or, for
# history.csv and a sample grid, goes on without it, with a warning), 2
# with one line naming the file where it does.
FIFO_EXPECTED = {
    ".keras_dcgan_run.json": {"resume": 2, "sample": 0, "export": 0},
    "config.json": {"resume": 2, "sample": 2, "export": 2},
    "data.json": {"resume": 2, "sample": 0, "export": 0},
    ".keras_dcgan.lock": {"resume": 2, "sample": 0, "export": 0},
    "history.csv": {"resume": 0, "sample": 0, "export": 0},
    # The end of the resumed run builds progress.gif from the grids.
    "samples/epoch_9999.png": {"resume": 0, "sample": 0, "export": 0},
}

# Runs `keras-dcgan ARGV` for each ARGV in one process (TensorFlow loads
# once); an alarm turns a hang into a result, so one hung command cannot
# hide the others (and the subprocess timeout backs it up).
DRIVER = r"""
import contextlib, io, json, signal, sys, time
from keras_dcgan.cli import main

class Hung(BaseException):  # not an OSError: no handler may take it
    pass
def hung(signum, frame):
    raise Hung
signal.signal(signal.SIGALRM, hung)
results = []
for argv in json.loads(sys.argv[1]):
    err, start = io.StringIO(), time.monotonic()
    signal.alarm(int(sys.argv[2]))
    try:
        with contextlib.redirect_stderr(err):
            code = main(argv)
    except Hung:
        code = "hung"
    except BaseException as e:
        code = f"raised {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
    results.append(
        {"code": code, "err": err.getvalue(), "seconds": time.monotonic() - start}
    )
print("RESULTS " + json.dumps(results))
"""
HANG_SECONDS = 60


def test_a_fifo_at_any_run_file_never_hangs_a_command(work):
    """A FIFO planted at each file a command opens: train --resume (to the
    end of the run, where the GIF is built), sample and export each finish
    or refuse in one line naming the file, and never hang (issue 21, 3)."""
    cases, argvs = [], []
    for name, expected in FIFO_EXPECTED.items():
        for command, code in expected.items():
            run = fresh_copy(work, f"fifo{len(cases)}")
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(run, name))
            os.mkfifo(os.path.join(run, name))
            out = str(work["root"] / f"out{len(cases)}")
            argv = {
                "resume": ["train", "--data", work["npz"], "--output-dir", run]
                + TINY_FLAGS
                + ["--resume", "--steps", "12"],
                "sample": ["sample", run, "--num", "4", "--output", out + ".png"],
                "export": ["export", run, "--output-dir", out],
            }[command]
            cases.append((name, command, code))
            argvs.append(argv)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(argvs), str(HANG_SECONDS)],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS * len(argvs),
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULTS ")]
    assert line, done.stderr[-3000:]
    results = json.loads(line[0][len("RESULTS ") :])
    wrong = []
    for (name, command, code), result in zip(cases, results):
        errors = [x for x in result["err"].splitlines() if x.startswith("keras-dcgan")]
        ok = result["code"] == code and (
            code == 0
            or (
                len(errors) == 1
                and os.path.basename(name) in errors[0]
                and "Traceback" not in result["err"]
            )
        )
        if not ok:
            wrong.append((name, command, result))
    assert not wrong, wrong
    slowest = max(r["seconds"] for r in results)
    assert slowest < HANG_SECONDS, slowest


@pytest.mark.parametrize("kind", ["directory", "FIFO", "socket", "character device"])
def test_a_lock_that_is_not_a_regular_file_is_named_as_such(
    work, capsys, tmp_path, kind
):
    """The lock file as a directory, FIFO, socket or device: one line that
    names what it is, exit 2; never "Free space or fix permissions" (8)."""
    run = fresh_copy(work, "lockkind")
    lock = os.path.join(run, ".keras_dcgan.lock")
    os.remove(lock)
    with contextlib.ExitStack() as stack:
        if kind == "directory":
            os.mkdir(lock)
        elif kind == "FIFO":
            os.mkfifo(lock)
        elif kind == "socket":
            server = stack.enter_context(socket.socket(socket.AF_UNIX))
            server.bind(lock)
        else:
            os.mknod(lock, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null
        code = main(
            ["train", "--data", work["npz"], "--output-dir", run, *TINY_FLAGS]
            + ["--resume", "--steps", "12"]
        )
    line = one_line_error(capsys)
    assert code == 2, line
    assert f"is a {kind}" in line and "Free space" not in line, line


# JSON a run file may hold that is not what the library wrote: each is one
# line, exit 2, never a traceback (issue 21, point 6).
DEEP = b"[" * 2000 + b"]" * 2000  # past Python's recursion limit
BAD_JSON = {
    "deep_array": DEEP,
    "deep_object": b'{"a": ' * 2000 + b"1" + b"}" * 2000,
    "garbage": bytes(range(256)),
    "not_utf8": b'{"source": "\xff\xfe"}',
    "list": b"[]",
    "string": b'"0,255"',
    "number": b"12",
    "empty_object": b"{}",
}


@pytest.mark.parametrize("content", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_a_bad_marker_is_one_line(work, capsys, content):
    run = fresh_copy(work, "badmarker")
    with open(os.path.join(run, ".keras_dcgan_run.json"), "wb") as f:
        f.write(content)
    code = main(
        ["train", "--data", work["npz"], "--output-dir", run, *TINY_FLAGS]
        + ["--resume", "--steps", "12"]
    )
    line = one_line_error(capsys)
    assert code == 2 and ".keras_dcgan_run.json" in line, line


BAD_FINGERPRINTS = dict(
    BAD_JSON,
    wrong_types=json.dumps(
        {"source": 1, "num_images": "64", "shape": "28x28", "sha256": 0}
    ).encode(),
    a_fifo=None,
)


@pytest.mark.parametrize(
    "content", BAD_FINGERPRINTS.values(), ids=BAD_FINGERPRINTS.keys()
)
def test_a_bad_data_fingerprint_refuses_resume(work, capsys, content):
    """A data.json that is not a fingerprint (`[]` among them) never turns
    the other-data check off silently: resume is refused in one line naming
    the file and --allow-data-change, and changes nothing (issue 21, 7)."""
    run = bad_fingerprint_run(work, content)
    before = run_files(run)
    code = main(resume_argv(work, run))
    line = one_line_error(capsys)
    assert code == 2 and "data.json" in line and "--allow-data-change" in line, line
    assert run_files(run) == before


def run_files(run):
    """The run's files, bytes and mtimes, less the lock (its holder text
    is written and cleared by every writer that opens the run)."""
    files = snapshot(run)
    del files[".keras_dcgan.lock"]
    return files


def bad_fingerprint_run(work, content):
    run = fresh_copy(work, "baddata")
    path = os.path.join(run, "data.json")
    os.remove(path)
    if content is None:
        os.mkfifo(path)
    else:
        with open(path, "wb") as f:
            f.write(content)
    return run


def resume_argv(work, run):
    return ["train", "--data", work["npz"], "--output-dir", run, *TINY_FLAGS] + [
        "--resume",
        "--steps",
        "12",
    ]


def test_a_bad_data_fingerprint_is_rebuilt_when_allowed(work, caplog):
    """With --allow-data-change, resume goes on with a log line, and the
    fingerprint is written anew."""
    run = bad_fingerprint_run(work, b"[]")
    path = os.path.join(run, "data.json")
    assert main([*resume_argv(work, run), "--allow-data-change"]) == 0
    assert "is not a data fingerprint" in caplog.text
    with open(path) as f:
        assert json.load(f)["num_images"] == 64


@pytest.mark.parametrize(
    "content", BAD_JSON.values(), ids=[f"holder_{k}" for k in BAD_JSON]
)
def test_a_bad_lock_holder_still_gives_one_line(work, capsys, content):
    """The holder text in a held lock is only for the message: whatever it
    holds, a second writer gets one line (PID unknown), exit 2."""
    run = fresh_copy(work, "badholder")
    fd = os.open(os.path.join(run, ".keras_dcgan.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another holder
        os.pwrite(fd, content, 0)
        code = main(
            ["train", "--data", work["npz"], "--output-dir", run, *TINY_FLAGS]
            + ["--resume", "--steps", "12"]
        )
    finally:
        os.close(fd)
    line = one_line_error(capsys)
    assert code == 2 and "PID unknown" in line, line


BAD_SIDECARS = dict(
    BAD_JSON,
    string_range=b'{"input_range": "0,255"}',
    list_range=b'{"input_range": [0]}',
    reversed_range=b'{"input_range": [255, 0]}',
    infinite_range=b'{"input_range": [0, 1e999]}',
    a_fifo=None,
)
del BAD_SIDECARS["empty_object"]  # a valid sidecar: pixels in [0, 255]


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("clf") / "clf.keras")
    classifier.build_classifier(28, 1, 10).save(path)
    return path


@pytest.mark.parametrize("content", BAD_SIDECARS.values(), ids=BAD_SIDECARS.keys())
def test_a_bad_classifier_sidecar_is_one_clear_error(tiny_classifier, content):
    """PATH.keras.json as garbage, too deep, a list, a string range...: a
    DataError (exit 2) naming the sidecar and the fix (issue 21, point 6)."""
    sidecar = features.sidecar_path(tiny_classifier)
    with contextlib.suppress(FileNotFoundError):
        os.remove(sidecar)
    if content is None:
        os.mkfifo(sidecar)
    else:
        with open(sidecar, "wb") as f:
            f.write(content)
    try:
        with pytest.raises(DataError) as caught:
            features.make_extractor(f"classifier:{tiny_classifier}")
    finally:
        os.remove(sidecar)
    message = str(caught.value)
    assert "clf.keras.json" in message and "\n" not in message, message


def write_pngs(folder, count=64):
    os.makedirs(folder, exist_ok=True)
    for i, image in enumerate(make_images(count)):
        Image.fromarray(image).save(os.path.join(folder, f"{i:03d}.png"))


@pytest.mark.parametrize("resume", [False, True], ids=["new", "resume"])
def test_a_run_inside_its_data_folder_is_named_as_such(tmp_path, capsys, resume):
    """A run inside its image folder would read its own pictures as data:
    refused in one line that says so, not as "the data differs" (7)."""
    data = str(tmp_path / "images")
    write_pngs(data)
    run = os.path.join(data, "run")
    if resume:  # a run made outside, then moved into the folder
        outside = str(tmp_path / "run")
        assert train_cli(data, outside, *TINY_FLAGS, "--steps", "8") == 0
        shutil.move(outside, run)
        capsys.readouterr()
    before = sorted(os.listdir(data))
    flags = ["--resume", "--steps", "12"] if resume else ["--steps", "4"]
    code = main(["train", "--data", data, "--output-dir", run, *TINY_FLAGS, *flags])
    line = one_line_error(capsys)
    assert code == 2 and "inside" in line and "data folder" in line, line
    assert "differs" not in line
    assert sorted(os.listdir(data)) == before
