"""`sample --seeds A-B --outdir DIR`: one PNG per seed, the folder of images
clean-fid, torch-fidelity and pytorch-fid read (issue 25). A seed names one
image, byte for byte, in any range, order or batch; bad input is one line,
exit 2, and writes nothing."""

import argparse
import os

import numpy as np
import pytest
from helpers import make_images, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from keras_dcgan import bounds, load_generator
from keras_dcgan.cli import main
from keras_dcgan.cli.generator import seed_list
from keras_dcgan.errors import DataError
from keras_dcgan.generator import latent


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run


def sample_seeds(run, seeds, outdir):
    return main(["sample", run, "--seeds", seeds, "--outdir", str(outdir)])


def pngs(folder):
    return {
        name: open(os.path.join(folder, name), "rb").read()
        for name in sorted(os.listdir(folder))
    }


def test_a_seed_is_one_image_in_any_range_order_or_call(run, tmp_path):
    calls = {"3": "seed0003.png", "0-5": None, "5,3,1": None, "2-4,3,0": None}
    for i, seeds in enumerate(calls):
        assert sample_seeds(run, seeds, tmp_path / str(i)) == 0
    assert sample_seeds(run, "3", tmp_path / "0") == 0  # replaces its own PNG
    written = [pngs(tmp_path / str(i)) for i in range(len(calls))]
    assert list(written[1]) == [f"seed{s:04d}.png" for s in range(6)]
    assert list(written[2]) == ["seed0001.png", "seed0003.png", "seed0005.png"]
    for files in written:
        for name, content in files.items():
            assert content == written[1][name]  # byte-identical
    with Image.open(tmp_path / "1" / "seed0003.png") as image:
        assert image.info["Software"] == "keras-dcgan"
        assert image.size == (28, 28)
    # Images differ between seeds, and the batch size does not matter.
    assert len(set(written[1].values())) == 6
    generator = load_generator(run)
    for batch_size in (1, 4, 1024):
        folder = tmp_path / f"batch{batch_size}"
        assert latent.save_seed_images(generator, [5, 3], folder, batch_size) == 2
        assert pngs(folder) == {n: written[1][n] for n in pngs(folder)}


def test_seed_latents_depend_on_their_own_seed_only():
    z = latent.seed_latents([7, 0, 123456], 8)
    assert np.array_equal(
        z[0], np.random.default_rng(7).standard_normal(8).astype(np.float32)
    )
    assert np.array_equal(z[1:2], latent.seed_latents([0], 8))
    assert latent.seed_image_name(7) == "seed0007.png"
    assert latent.seed_image_name(1234567) == "seed1234567.png"


BAD_SEEDS = [
    "5-2",  # ends before it starts
    "0-1e12",  # not an integer
    "0-999999999999",  # above the seed range, and too many
    "2147483648",  # one past MAX_SEED
    f"0-{bounds.MAX_SEEDS}",  # one seed too many
    f"0-{bounds.MAX_SEEDS // 2},{bounds.MAX_SEEDS}-{2 * bounds.MAX_SEEDS}",
    "-1",
    "1-2-3",
    "3-",
    "",
    " ",
    ",",
    "1,,2",
    "1e3",
    "0x10",
    "1.5",
    "a-b",
    "\uff11\uff12",  # full-width digits
    "9" * 5000,  # longer than int() converts
]


@pytest.mark.parametrize("seeds", BAD_SEEDS)
def test_bad_seeds_are_one_line_exit_2_and_write_nothing(run, tmp_path, capsys, seeds):
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        sample_seeds(run, seeds, tmp_path / "out")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-dcgan: error: argument --seeds: ")
    assert err.count("\n") == 1 and len(err) < 400
    assert snapshot(tmp_path) == before


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789-, e", max_size=30)
    | st.lists(st.integers(-5, 2**40), max_size=6).map(
        lambda xs: ",".join(
            f"{a}-{b}" if i % 2 else str(a)
            for i, (a, b) in enumerate(zip(xs, xs[1:] + [0]))
        )
    )
)
def test_any_seeds_text_parses_in_bounds_or_is_refused(text):
    try:
        seeds = seed_list(text)
    except argparse.ArgumentTypeError as e:
        assert "\n" not in str(e) and str(e)
        return
    assert 1 <= len(seeds) <= bounds.MAX_SEEDS
    assert all(0 <= s <= bounds.MAX_SEED for s in seeds)
    # What was accepted means what it says: each part's seeds, in order,
    # each once (an independent expansion of the accepted text).
    expected, seen = [], set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        for seed in range(int(low), int(high or low) + 1):
            if seed not in seen:
                seen.add(seed)
                expected.append(seed)
    assert seeds == expected


def test_mixed_seeds_parse_in_order_once_each():
    assert seed_list("4-6,1, 5 ,9-9") == [4, 5, 6, 1, 9]
    assert len(seed_list(f"0-{bounds.MAX_SEEDS - 1}")) == bounds.MAX_SEEDS


def foreign_png(path):
    Image.fromarray(make_images(1)[0]).save(path)  # no keras-dcgan mark


REFUSALS = {
    "seeds_without_outdir": (["--seeds", "0-3"], "--outdir DIR"),
    "outdir_alone": (["--outdir", "OUT"], "--output --seeds is required"),
    "outdir_with_output": (["--output", "x.png", "--outdir", "OUT"], "add --seeds"),
    "seeds_with_output": (
        ["--seeds", "0-3", "--outdir", "OUT", "--output", "x.png"],
        "not allowed with",
    ),
    "seeds_with_save_latents": (
        ["--seeds", "0-3", "--outdir", "OUT", "--save-latents", "z.npy"],
        "--save-latents",
    ),
    "outdir_is_a_file": (["--seeds", "0-3", "--outdir", "FILE"], "not a folder"),
    "outdir_is_a_link_to_a_file": (
        ["--seeds", "0-3", "--outdir", "LINK"],
        "not a folder",
    ),
    "foreign_png_under_a_seed_name": (
        ["--seeds", "0-3", "--outdir", "FOREIGN"],
        "not replaced",
    ),
    "folder_under_a_seed_name": (
        ["--seeds", "0-3", "--outdir", "DIRNAME"],
        "not replaced",
    ),
    "fifo_under_a_seed_name": (["--seeds", "0-3", "--outdir", "FIFO"], "not replaced"),
    "outdir_inside_the_run": (["--seeds", "0-3", "--outdir", "RUN/fakes"], "inside"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_seeds_runs_change_nothing(run, tmp_path, capsys, case):
    flags, needle = REFUSALS[case]
    (tmp_path / "file.png").write_bytes(b"mine")
    os.symlink(tmp_path / "file.png", tmp_path / "link")
    for name in ("foreign", "dirname", "fifo"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mine.txt").write_text("keep")
    foreign_png(tmp_path / "foreign" / "seed0002.png")
    (tmp_path / "dirname" / "seed0001.png").mkdir()
    os.mkfifo(tmp_path / "fifo" / "seed0003.png")
    where = {
        "OUT": str(tmp_path / "out"),
        "FILE": str(tmp_path / "file.png"),
        "LINK": str(tmp_path / "link"),
        "FOREIGN": str(tmp_path / "foreign"),
        "DIRNAME": str(tmp_path / "dirname"),
        "FIFO": str(tmp_path / "fifo"),
        "RUN/fakes": os.path.join(run, "fakes"),
        "x.png": str(tmp_path / "x.png"),
        "z.npy": str(tmp_path / "z.npy"),
    }
    before, run_before = snapshot(tmp_path), snapshot(run)
    argv = ["sample", run] + [where.get(f, f) for f in flags]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-dcgan: error: ") and err.count("\n") == 1
    assert needle in err
    assert snapshot(tmp_path) == before
    assert snapshot(run) == run_before


def test_outdir_keeps_other_files_and_replaces_only_its_pngs(run, tmp_path):
    outdir = tmp_path / "fakes"
    outdir.mkdir()
    (outdir / "notes.txt").write_text("keep")
    foreign_png(outdir / "seed0009.png")
    foreign = (outdir / "seed0009.png").read_bytes()
    assert sample_seeds(run, "0-3", outdir) == 0
    assert sample_seeds(run, "2-5", outdir) == 0  # 2, 3 are ours: replaced
    assert (outdir / "notes.txt").read_text() == "keep"
    assert (outdir / "seed0009.png").read_bytes() == foreign
    assert sorted(os.listdir(outdir)) == ["notes.txt"] + [
        f"seed{s:04d}.png" for s in (0, 1, 2, 3, 4, 5, 9)
    ]
    with pytest.raises(DataError, match="not replaced"):
        latent.save_seed_images(load_generator(run), [9], str(outdir))
    assert (outdir / "seed0009.png").read_bytes() == foreign
