"""Output flags never replace a file they did not make, and never write into
a run (issue 21, point 4): `--stats-cache` over the user's data `.npz`
replaced it with statistics, exit 0."""

import io
import json
import os

import numpy as np
import pytest
from helpers import make_images, snapshot
from PIL import Image

from keras_dcgan.cli import main
from keras_dcgan.errors import MetricsError
from keras_dcgan.quality import stats


@pytest.fixture(scope="module")
def work(tmp_path_factory, tiny_run):
    """A tiny run, its images as the user's data, and saved latents."""
    root = tmp_path_factory.mktemp("outputs")
    run = tiny_run
    data = str(root / "data.npz")
    np.savez(data, x=make_images(64))
    labelled = str(root / "labelled.npz")
    np.savez(labelled, x=make_images(64), y=np.arange(64) % 2)
    latents = str(root / "z.npy")
    np.save(latents, np.zeros((4, 8), np.float32))
    return {"root": root, "run": run, "data": data, "labelled": labelled, "z": latents}


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def picture_bytes(fmt):
    buffer = io.BytesIO()
    Image.fromarray(make_images(1)[0]).save(buffer, format=fmt)
    return buffer.getvalue()


# Files a user may have under the name an output flag is given: none is
# this package's output, so none may be replaced.
FOREIGN = {
    "data_npz": npz_bytes(x=make_images(16)),
    "labelled_npz": npz_bytes(x=make_images(16), y=np.arange(16)),
    "stats_keys_and_more": npz_bytes(
        mu=np.zeros(2), sigma=np.eye(2), features=np.zeros((2, 2)), metadata="{}", x=0
    ),
    "png": picture_bytes("PNG"),
    "gif": picture_bytes("GIF"),
    "json": b'{"notes": "mine"}\n',
    "images_npy": (lambda b: (np.save(b, make_images(4)), b.getvalue())[1])(
        io.BytesIO()
    ),
    "text": b"precious notes, not an output\n",
    "empty": b"",
}

# Each output flag: the command line (OUT is the path under test) and the
# extension it writes.
OUTPUTS = {
    "sample_png": (["sample", "RUN", "--num", "4", "--output", "OUT"], ".png"),
    "sample_npz": (["sample", "RUN", "--num", "4", "--output", "OUT"], ".npz"),
    "sample_latents": (
        ["sample", "RUN", "--num", "4", "--output", "NEW.png", "--save-latents", "OUT"],
        ".npy",
    ),
    "interpolate_png": (["interpolate", "RUN", "--output", "OUT"], ".png"),
    "interpolate_gif": (["interpolate", "RUN", "--output", "OUT"], ".gif"),
    "arithmetic": (
        ["arithmetic", "RUN", "--latents", "Z", "--plus", "0", "--output", "OUT"],
        ".png",
    ),
    "nearest": (["nearest", "RUN", "--data", "DATA", "--output", "OUT"], ".png"),
    "evaluate_output": (
        ["evaluate", "RUN", "--data", "DATA", "--num", "8", "--output", "OUT"],
        ".json",
    ),
    "stats_cache": (
        ["evaluate", "RUN", "--data", "DATA", "--num", "8", "--stats-cache", "OUT"],
        ".npz",
    ),
    "train_classifier": (
        ["train-classifier", "--data", "LABELLED", "--output", "OUT"],
        ".keras",
    ),
}


def argv_for(work, output, out):
    template, _ = OUTPUTS[output]
    names = {
        "RUN": work["run"],
        "DATA": work["data"],
        "LABELLED": work["labelled"],
        "Z": work["z"],
        "OUT": out,
        "NEW.png": str(work["root"] / "new.png"),
    }
    return [names.get(arg, arg) for arg in template]


def one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("keras-dcgan")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("keras-dcgan: error: "), err
    return lines[0]


@pytest.mark.parametrize("foreign", FOREIGN, ids=FOREIGN.keys())
@pytest.mark.parametrize("output", OUTPUTS, ids=OUTPUTS.keys())
def test_an_output_never_replaces_a_file_it_did_not_make(
    work, tmp_path, capsys, output, foreign
):
    """Every output flag, over every kind of foreign file under its
    extension: one line, exit 2, the file byte-identical."""
    out = str(tmp_path / f"mine{OUTPUTS[output][1]}")
    with open(out, "wb") as f:
        f.write(FOREIGN[foreign])
    code = main(argv_for(work, output, out))
    line = one_line_error(capsys)
    assert code == 2 and "not replaced" in line, line
    with open(out, "rb") as f:
        assert f.read() == FOREIGN[foreign]
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(out)]


# A name the run itself uses, for each extension (no run file ends in .npz
# or .npy: a folder of the run instead).
OWN_NAMES = {
    ".png": "losses.png",
    ".gif": "progress.gif",
    ".json": "config.json",
    ".keras": "generator.keras",
    ".npz": "checkpoints/x.npz",
    ".npy": "checkpoints/z.npy",
}


@pytest.mark.parametrize("where", ["top", "samples", "own_name"])
@pytest.mark.parametrize("output", OUTPUTS, ids=OUTPUTS.keys())
def test_an_output_never_points_into_a_run(work, capsys, output, where):
    """An output inside a run directory (its top, a folder of it, one of
    its own names) is refused in one line; the run is unchanged."""
    ext = OUTPUTS[output][1]
    name = {"top": f"new{ext}", "samples": f"samples/new{ext}"}.get(where)
    out = os.path.join(work["run"], name or OWN_NAMES[ext])
    before = snapshot(work["run"])
    code = main(argv_for(work, output, out))
    line = one_line_error(capsys)
    assert code == 2 and "inside the run" in line, line
    assert snapshot(work["run"]) == before


def test_an_export_never_goes_into_a_run(work, capsys):
    before = snapshot(work["run"])
    base = os.path.join(work["run"], "serving")
    assert main(["export", work["run"], "--output-dir", base]) == 2
    assert "inside the run" in one_line_error(capsys)
    assert snapshot(work["run"]) == before


def test_the_users_data_survives_stats_cache_through_the_library(work):
    """`real_stats(cache=...)` and `save_real_stats` refuse the user's data
    before computing anything; the file keeps its bytes."""
    with open(work["data"], "rb") as f:
        data = f.read()
    fake = stats.RealStats(np.zeros(2), np.eye(2), np.zeros((2, 2)), "x", 2, "x")
    with pytest.raises(MetricsError, match="not a statistics cache"):
        stats.save_real_stats(fake, work["data"])
    with pytest.raises(MetricsError, match="not a statistics cache"):
        stats.load_real_stats(work["data"])
    with open(work["data"], "rb") as f:
        assert f.read() == data


@pytest.mark.parametrize("ext", [".png", ".npz"])
def test_an_output_replaces_its_own_earlier_file(work, tmp_path, ext):
    """What the command wrote before is replaced: sampling twice to one
    file works, and a stats cache is rewritten."""
    out = str(tmp_path / f"grid{ext}")
    argv = ["sample", work["run"], "--num", "4", "--output", out]
    assert main([*argv, "--seed", "1"]) == 0
    first = open(out, "rb").read()
    assert main([*argv, "--seed", "2"]) == 0
    assert open(out, "rb").read() != first
    cache = str(tmp_path / "real.npz")
    fake = stats.RealStats(np.zeros(2), np.eye(2), np.zeros((2, 2)), "x", 2, "x")
    stats.save_real_stats(fake, cache)
    stats.save_real_stats(fake, cache)  # its own kind: replaced
    assert stats.is_stats_cache(cache)
    report = str(tmp_path / "report.json")
    with open(report, "w") as f:
        json.dump({"run_dir": "r", "extractor": "e", "metrics": {}}, f)
    from keras_dcgan.quality import evaluation

    assert evaluation.is_report(report)
