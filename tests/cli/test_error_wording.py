"""Errors in the caller's language: the library names the Python parameter
(`data=x.npz`, `latent_dim=0`), `keras-dcgan` the flag (`--data x.npz`,
`--latent-dim 0`), for the same mistake; one table in the CLI
(`keras_dcgan.cli.common`) maps one to the other, in its one error printer."""

import ast
import json
import os
import pathlib
import re
import time

import numpy as np
import pytest
from helpers import TINY_FLAGS, make_images, snapshot
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import keras_dcgan
from keras_dcgan import bounds
from keras_dcgan.cli import build_parser, main
from keras_dcgan.cli.common import PARAMETERS, flag_table, in_flags
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import DCGANError

PACKAGE = pathlib.Path(keras_dcgan.__file__).parent
COMMANDS = tuple(PARAMETERS)
FLAG = re.compile(r"(?<![\w`-])--[a-z][a-z0-9-]*")
PARAMETER = re.compile(r"(?<![^\s(`])([a-z][a-z0-9_]*)=")
# Library string literals (docstrings aside) that may name a flag, each
# with its reason. None today: a message that must name a flag belongs in
# keras_dcgan/cli/.
FLAGS_ALLOWED = {}
# Named in messages, set by no flag: the CLI passes fixed values (k, the
# split, the description) or none (safe_mode=False is advice for the
# reader's own code); both wordings keep the Python name.
PYTHON_ONLY = {"k", "validation_split", "decay", "description", "safe_mode"}


def cli_error(capsys, argv) -> str:
    """The one line `keras-dcgan ARGV` prints for its error (exit 2)."""
    capsys.readouterr()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-dcgan: error: "), lines
    return lines[0].removeprefix("keras-dcgan: error: ")


def python_error(call) -> str:
    with pytest.raises(DCGANError) as info:
        call()
    return str(info.value)


def message_texts(path: pathlib.Path):
    """The text of every string literal of a module but its docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(
            node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)
        )
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


LIBRARY = sorted(
    p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts
)


# ---- the property: no library message names a flag ------------------------


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_messages_name_no_flag(path):
    flags = {f for text in message_texts(path) for f in FLAG.findall(text)}
    allowed = FLAGS_ALLOWED.get(str(path.relative_to(PACKAGE)), set())
    assert flags <= allowed, f"{path.name} names flags in its messages: {flags}"


def test_the_scan_finds_flags_where_they_are():
    """The scan itself: the CLI's modules do name flags, as they should."""
    found = {
        f
        for p in (PACKAGE / "cli").glob("*.py")
        for text in message_texts(p)
        for f in FLAG.findall(text)
    }
    assert {"--data", "--output", "--seeds"} <= found, found


def test_every_parameter_a_message_names_has_a_flag():
    """A parameter named in a message that no subcommand could map would
    reach a CLI user as `name=`."""
    tables = {command: flag_table(build_parser(), command) for command in COMMANDS}
    known = set().union(*tables.values()) | PYTHON_ONLY
    named = {
        name
        for path in LIBRARY
        for text in message_texts(path)
        for name in PARAMETER.findall(text)
    }
    assert len(named) > 20, "too few messages name a parameter: the scan is broken"
    assert named <= known, sorted(named - known)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_explicit_entries_name_flags_of_their_command(command):
    parser = build_parser()
    table = flag_table(parser, command)
    options = set(table.values())
    for parameter, flag in PARAMETERS[command].items():
        assert table[parameter] == flag and flag in options
    # The parser's own: every long option of the subcommand, by its dest.
    assert {"--seed", "--data", "--output-dir", "--generator"} & options


# ---- the mapping ----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(COMMANDS),
    data=st.data(),
    value=st.text(
        st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc")), min_size=1
    ),
)
def test_a_named_value_becomes_flag_and_value(command, data, value):
    """Any value without white space (a path, a number, a repr), whatever
    it holds (`runs/seed=1`, `(data=`, `.`), follows the flag unchanged;
    only `True` (a switch's value) and a first `,;:)` or "`" end a name."""
    assume(not re.match(r"True\b|[,;:)`]", value) and value != ".")
    table = flag_table(build_parser(), command)
    name = data.draw(st.sampled_from(sorted(table)))
    flag = table[name]
    for after in (": no such file.", " is a file; name a folder.", ""):
        assert in_flags(f"{name}={value}{after}", table) == f"{flag} {value}{after}"
    assert in_flags(f"pass {name}=True to go on.", table) == f"pass {flag} to go on."
    assert in_flags(f"lower {name}=.", table) == f"lower {flag}."
    assert in_flags(f"Give {name}=, not both.", table) == f"Give {flag}, not both."
    assert in_flags(f"x ({name}=).", table) == f"x ({flag})."


@pytest.mark.parametrize(
    "message",
    [
        "data=" * 200_000,
        "a" * 10**6,
        " data=x" * 140_000,
        "(`" * 500_000,
        "data=:" * 160_000,
    ],
    ids=["names", "one-word", "name-value", "openers", "empty-values"],
)
def test_the_mapping_takes_time_linear_in_the_message(message):
    """A message can quote what it was given (a path, a repr): rewriting
    it must cost no more than reading it, whatever it holds (1 MB here,
    many times any real message)."""
    table = flag_table(build_parser(), "train")
    start = time.monotonic()
    in_flags(message, table)
    assert time.monotonic() - start < 5.0


# ---- the same mistake, from Python and from the command line --------------


def empty_npz(folder):
    path = os.path.join(folder, "empty.npz")
    np.savez(path)
    return path


def garbage_npy(folder):
    path = os.path.join(folder, "garbage.npy")
    pathlib.Path(path).write_bytes(b"\x93NUMPY not really")
    return path


def pickled_npz(folder):
    path = os.path.join(folder, "objects.npz")
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object))
    return path


@pytest.mark.parametrize("make", [empty_npz, garbage_npy, pickled_npz])
def test_a_bad_data_file_names_data_then_the_flag(tmp_path, capsys, make):
    from keras_dcgan.data import load_images

    path = make(str(tmp_path))
    said = python_error(lambda: load_images(28, 1, data=path))
    assert said.startswith(f"data={path}") and "--" not in said, said
    run = tmp_path / "run"
    argv = ["train", "--data", path, "--output-dir", str(run), "--dry-run"]
    cli = cli_error(capsys, argv + TINY_FLAGS)
    assert cli == f"--data {path}" + said.removeprefix(f"data={path}")
    assert not run.exists()


def test_too_few_images_for_a_batch_name_batch_size_then_the_flag(
    tmp_path, capsys, tiny_config
):
    from keras_dcgan.data import from_array
    from keras_dcgan.training import train

    path = tmp_path / "few.npz"
    np.savez(path, x=make_images(8))
    run = str(tmp_path / "run")
    said = python_error(
        lambda: train(tiny_config, from_array(make_images(8), 28, 1), run, verbose=0)
    )
    assert said.endswith("lower batch_size=.") and "--" not in said, said
    cli = cli_error(
        capsys, ["train", "--data", str(path), "--output-dir", run] + TINY_FLAGS
    )
    assert cli.endswith("lower --batch-size."), cli
    assert not PARAMETER.search(cli), cli


def test_resuming_a_missing_run_names_resume_then_the_flag(
    tmp_path, capsys, tiny_config, npz_file
):
    from keras_dcgan.data import from_array
    from keras_dcgan.training import train

    run = str(tmp_path / "nothing")
    os.mkdir(run)
    images = from_array(make_images(64), 28, 1)
    said = python_error(lambda: train(tiny_config, images, run, resume=True, verbose=0))
    assert said.startswith(f"resume=True: {run} holds no run"), said
    assert said.endswith("without resume=True.") and "--" not in said, said
    argv = ["train", "--data", str(npz_file), "--output-dir", run, "--resume"]
    cli = cli_error(capsys, argv + TINY_FLAGS)
    assert cli.startswith(f"--resume: {run} holds no run"), cli
    assert cli.endswith("without --resume."), cli
    assert os.listdir(run) == []


@pytest.mark.parametrize(
    "kwargs, argv, python_words, cli_words",
    [
        (
            {"generator": "ema"},
            ["--generator", "ema"],
            ["generator=ema: ", "without ema=.", "pass generator=raw)", "ema=0.999"],
            [
                "--generator ema: ",
                "without --ema.",
                "pass --generator raw)",
                "--ema 0.999",
            ],
        ),
        (
            {"checkpoint": "best"},
            ["--checkpoint", "best"],
            [
                "checkpoint=best: ",
                "eval_every=N and eval_features= ",
                "checkpoint=latest",
            ],
            [
                "--checkpoint best: ",
                "--eval-every N and --eval-features ",
                "--checkpoint latest",
            ],
        ),
        (
            {"checkpoint": 999},
            ["--checkpoint", "999"],
            ["checkpoint=999: "],
            ["--checkpoint 999: "],
        ),
    ],
    ids=["generator", "checkpoint-best", "checkpoint-step"],
)
def test_a_generator_a_run_lacks_names_the_parameter_then_the_flag(
    tiny_run, tmp_path, capsys, kwargs, argv, python_words, cli_words
):
    from keras_dcgan import load_generator

    said = python_error(lambda: load_generator(tiny_run, **kwargs))
    assert "--" not in said
    for words in python_words:
        assert words in said, (words, said)
    output = str(tmp_path / "grid.png")
    cli = cli_error(capsys, ["sample", tiny_run, *argv, "--output", output])
    for words in cli_words:
        assert words in cli, (words, cli)
    assert not PARAMETER.search(cli), cli
    assert not os.path.exists(output)


def test_a_grid_too_large_names_rows_and_steps_then_the_flags(
    tiny_run, tmp_path, capsys
):
    from keras_dcgan.generator import explore

    said = python_error(lambda: explore.check_grid(100, 100))
    assert said.startswith("rows=100 x steps=100 = 10000 images"), said
    assert said.endswith("other seed=.") and "--" not in said, said
    output = str(tmp_path / "walk.png")
    argv = ["interpolate", tiny_run, "--rows", "100", "--steps", "100"]
    cli = cli_error(capsys, [*argv, "--output", output])
    assert cli.startswith("--rows 100 x --steps 100 = 10000 images"), cli
    assert cli.endswith("other --seed."), cli
    assert not os.path.exists(output)


def below_range(field):
    """(text typed on the command line, the value it parses to) just below
    `field`'s range."""
    if field in bounds.LIMITS:
        low = bounds.MINIMA.get(field, 1)
        return str(low - 1), low - 1
    low = bounds.RANGES[field][0]
    value = low if field in bounds.LOW_EXCLUDED else low - 1.0
    return str(value), value


NUMERIC_FIELDS = sorted(bounds.LIMITS) + sorted(bounds.RANGES)


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_a_number_out_of_range_names_the_field_then_the_flag(tmp_path, capsys, field):
    """The bounds' one style: `latent_dim=0: use an integer from 1 to
    4096.` from Python, `--latent-dim 0: use ...` from `keras-dcgan`."""
    text, value = below_range(field)
    said = python_error(lambda: DCGANConfig(**{field: value}))
    assert said.startswith(f"{field}={value!r}: use ") and "--" not in said, said
    flag = flag_table(build_parser(), "train")[field]
    run = tmp_path / "run"
    cli = cli_error(capsys, ["train", "--output-dir", str(run), flag, text])
    assert cli == f"{flag} " + said.removeprefix(f"{field}=")
    assert not run.exists()


@pytest.mark.parametrize("policy", ["flip", "cutout,cutout", "none,color"])
def test_a_bad_augment_policy_names_the_field_then_the_flag(tmp_path, capsys, policy):
    said = python_error(lambda: DCGANConfig(augment=policy))
    assert said.startswith(f"augment={policy!r} is not supported") and "--" not in said
    run = tmp_path / "run"
    cli = cli_error(capsys, ["train", "--output-dir", str(run), "--augment", policy])
    assert cli == "--augment " + said.removeprefix("augment=")
    assert not run.exists()


def test_a_field_of_a_config_file_keeps_its_key(tmp_path, capsys, tiny_run):
    """config.json's keys are the fields' names: a refusal of a value in
    the file names the key as the file writes it, from the CLI too."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    saved = json.loads(pathlib.Path(tiny_run, "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**saved, "latent_dim": 0}))
    config = str(run / "config.json")
    said = python_error(lambda: DCGANConfig.from_json(config))
    assert said == f"{config}: latent_dim=0: use an integer from 1 to 4096."
    before = snapshot(str(run))
    cli = cli_error(capsys, ["sample", str(run), "--output", str(tmp_path / "g.png")])
    assert said in cli, cli
    assert snapshot(str(run)) == before


def test_a_log_line_names_the_parameter_then_the_flag(tmp_path, caplog):
    """Log lines too: a skipped file's reason in the library's words, then
    in the command's (the CLI rewrites the package's records)."""
    from PIL import Image

    from keras_dcgan.data import load_images

    folder = tmp_path / "faces"
    folder.mkdir()
    for i, image in enumerate(make_images(20)):
        Image.fromarray(image).save(folder / f"{i:02d}.png")
    Image.new("L", (40, 40)).save(folder / "large.png")  # 1,600 px
    with caplog.at_level("WARNING", logger="keras_dcgan"):
        load_images(28, 1, data=str(folder), max_image_pixels=1000)
    assert "raise max_image_pixels= if" in caplog.text
    caplog.clear()
    argv = ["train", "--data", str(folder), "--max-image-pixels", "1000"]
    argv += ["--output-dir", str(tmp_path / "run"), "--dry-run", *TINY_FLAGS]
    with caplog.at_level("WARNING", logger="keras_dcgan"):
        assert main(argv) == 0
    assert "large.png" in caplog.text, caplog.text
    assert "raise --max-image-pixels if" in caplog.text, caplog.text
    assert "max_image_pixels=" not in caplog.text
