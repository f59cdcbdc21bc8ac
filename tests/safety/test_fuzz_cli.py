"""Any argument list of any subcommand either parses into values within
their bounds or is refused with exit code 2 and one line: never a
traceback. Any bytes in a run's config.json load or raise ConfigError."""

import argparse
import contextlib
import dataclasses
import io
import itertools
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_dcgan import bounds
from keras_dcgan.cli import build_parser, check_args
from keras_dcgan.cli.common import flag_table, in_flags
from keras_dcgan.cli.generator import index_list
from keras_dcgan.cli.train_flags import CONFIG_FLAGS, config_from_args
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError, DataError, RunError

ERRORS = (ConfigError, DataError, RunError)
SUBPARSERS = next(
    a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
).choices
# Required arguments with good values, so that most lists reach the checks
# after parsing; the random part may repeat (and so override) any flag.
BASE = {
    "sample": ["RUN", "--output", "OUT/s.png"],
    "export": ["RUN", "--output-dir", "OUT/serving"],
    "interpolate": ["RUN", "--output", "OUT/w.gif"],
    "arithmetic": [
        "RUN",
        "--latents",
        "OUT/z.npy",
        "--plus",
        "0,1",
        "--output",
        "OUT/a.png",
    ],
    "nearest": ["RUN", "--data", "OUT/x.npz", "--output", "OUT/n.png"],
    "evaluate": ["RUN", "--data", "OUT/x.npz"],
    "train-classifier": ["--data", "OUT/x.npz", "--output", "OUT/c.keras"],
}
EXTENSIONS = ("png", "gif", "npz", "npy", "json", "keras", "jpg")
VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(-3, 5000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "1e9",
            "1e309",
            "nan",
            "inf",
            "-inf",
            "0x10",
            "1_000",
            "2147483648",
            "9" * 5000,
            "28",
            "3",
            "0,1,2",
            "0,,1",
            "fid,kid",
            "slerp",
            "tflite",
            "OUT/a.png",
            "OUT/a.npz",
            "OUT/a.json",
            "OUT/a.keras",
            "OUT/no/such/dir/a.png",
            "OUT",
            "a.jpg",
        ]
    ),
    st.text(max_size=6),
)


def values_for(action):
    """Good values of a flag, values at and beyond its limits, and junk."""
    low, high = (
        getattr(action.type, "minimum", None),
        getattr(action.type, "maximum", None),
    )
    if action.choices:
        good = st.sampled_from([str(c) for c in action.choices])
    elif action.dest in ("output", "save_latents"):
        good = st.sampled_from(
            [
                f"OUT/{folder}a.{extension}"
                for folder in ("", "no/such/dir/")
                for extension in EXTENSIONS
            ]
        )
    elif action.type is index_list:  # --plus/--minus: up to 100 indices
        sizes = st.one_of(
            st.integers(1, 100),
            st.sampled_from([bounds.MAX_GROUP_SIZE, bounds.MAX_GROUP_SIZE + 1]),
        )
        good = sizes.map(lambda n: ",".join(str(i % 9) for i in range(n)))
    elif low is not None:
        within = (
            st.integers(low, high) if isinstance(low, int) else st.floats(low, high)
        )
        edges = [low - 1, low, high, high + 1, high * 2, -high]
        good = st.one_of(within.map(str), st.sampled_from([str(v) for v in edges]))
    else:
        return VALUES
    # Three in four good: lists with several flags must parse now and then.
    return st.integers(0, 3).flatmap(lambda i: good if i else VALUES)


def arguments(command):
    """Flags of `command` with values, and stray values: lists that parse
    often enough to reach the checks after parsing."""
    items = []
    for action in SUBPARSERS[command]._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        names = st.sampled_from(action.option_strings)
        items.append(
            names.map(lambda n: [n])
            if action.nargs == 0
            else st.tuples(names, values_for(action)).map(list)
        )
    stray = st.lists(VALUES, max_size=1)  # most lists must parse
    return st.tuples(st.lists(st.one_of(*items), max_size=4), stray).map(
        lambda parts: [*itertools.chain.from_iterable(parts[0]), *parts[1]]
    )


def parse(argv):
    """(args, None) or (None, (exit code, stdout, stderr)) of argparse."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return build_parser().parse_args(argv), None
        except SystemExit as e:
            return None, (e.code, out.getvalue(), err.getvalue())


def assert_refused_in_one_line(argv, code, stderr):
    if code == 0:  # --help
        assert "-h" in argv or "--help" in argv
        return
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-dcgan: error: "), stderr


def assert_within_bounds(command, args):
    """Every bounded flag's value is inside its bounds; cross-flag bounds."""
    for action in SUBPARSERS[command]._actions:
        value = getattr(args, action.dest, None)
        if value is not None and hasattr(action.type, "minimum"):
            assert math.isfinite(value), (action.dest, value)
            assert action.type.minimum <= value <= action.type.maximum
    for flag in ("output", "save_latents"):
        if getattr(args, flag, None):  # a file the command can write
            assert os.path.isdir(os.path.dirname(os.path.abspath(getattr(args, flag))))
    if command == "interpolate":
        assert args.rows * args.steps <= bounds.MAX_GRID_IMAGES
    if command == "sample" and args.output.lower().endswith(".png"):
        assert args.num <= bounds.MAX_GRID_IMAGES
    if command == "arithmetic":
        groups = args.plus + args.minus
        assert len(groups) <= bounds.MAX_GROUPS
        assert all(1 <= len(g) <= bounds.MAX_GROUP_SIZE for g in groups)


@pytest.mark.parametrize("command", sorted(BASE))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_subcommand_parses_within_bounds_or_fails_in_one_line(
    tmp_path_factory, command, data
):
    out = tmp_path_factory.getbasetemp()
    tokens = data.draw(arguments(command))
    argv = [command] + [
        t.replace("RUN", str(out / "no-run")).replace("OUT", str(out))
        for t in BASE[command] + tokens
    ]
    args, refused = parse(argv)
    if refused:
        assert_refused_in_one_line(argv, refused[0], refused[2])
        return
    try:
        check_args(args)  # what main() runs before any model or data
    except ERRORS as e:
        assert str(e) and "\n" not in str(e)
        return
    assert_within_bounds(command, args)


@pytest.mark.parametrize("command", sorted(SUBPARSERS))
def test_every_numeric_flag_has_bounds(command):
    # train's numbers are DCGANConfig fields, bounded by its validate().
    config_dests = {field for field, _, _ in CONFIG_FLAGS.values()}
    for action in SUBPARSERS[command]._actions:
        if action.type in (int, float) and action.dest not in config_dests:
            assert action.choices, f"{command} {action.option_strings}"


TRAIN_FLAGS = sorted(CONFIG_FLAGS) + [
    "--dataset",
    "--data",
    "--resume",
    "--overwrite",
    "--dry-run",
    "--verbose",
    "--nz",
    "--ngf",
    "--ndf",
    "--beta1",
    "-h",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        arguments("train"),  # flags with values: most reach config_from_args
        st.lists(st.one_of(st.sampled_from(TRAIN_FLAGS), VALUES), max_size=10),
    )
)
def test_train_arguments_parse_or_fail_cleanly(tmp_path_factory, argv):
    out = str(tmp_path_factory.getbasetemp() / "fuzz-run")
    argv = ["train", "--output-dir", out, *argv]
    args, refused = parse(argv)
    if refused:
        assert_refused_in_one_line(argv, refused[0], refused[2])
        return
    try:
        config = config_from_args(args)
    except ERRORS as e:  # the CLI prints it: one line naming the flag or
        message = in_flags(str(e), TRAIN_TABLE)  # the run directory at fault
        assert "\n" not in message and (
            "--" in message or args.output_dir in message
        ), message
        return
    assert isinstance(config, DCGANConfig)
    config.validate()


FIELDS = [f.name for f in dataclasses.fields(DCGANConfig)]
TRAIN_TABLE = flag_table(build_parser(), "train")
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=4))
def test_config_validation_raises_only_config_errors(values):
    try:
        DCGANConfig(**values)
    except ConfigError as e:
        # The field at fault, as the caller named it (`latent_dim=0: ...`).
        assert any(f"{name}=" in str(e) for name in values), str(e)


CONFIG_FILES = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=4).map(
        lambda d: json.dumps(d).encode()
    ),
    st.recursive(
        st.none() | st.integers() | st.text(max_size=3),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 10**6).map(lambda n: b"[" * n),  # deep nesting
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG_FILES)
def test_any_config_file_loads_or_raises_config_error(tmp_path_factory, content):
    path = tmp_path_factory.getbasetemp() / "fuzz-config.json"
    path.write_bytes(content)
    try:
        config = DCGANConfig.from_json(str(path))
    except ConfigError as e:
        assert str(path) in str(e)
        return
    assert isinstance(config, DCGANConfig)


def test_a_config_file_above_the_size_limit_is_not_read(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{" + " " * 2**20 + "}")  # valid JSON, but 1 MiB
    with pytest.raises(ConfigError, match="larger than 1048576 bytes"):
        DCGANConfig.from_json(str(path))


NUMBERS = {
    f.name: f.type
    for f in dataclasses.fields(DCGANConfig)
    if any(kind in str(f.type) for kind in ("int", "float"))
}


@pytest.mark.parametrize("value", [10**13, 10**18, 2**63, 10**400, 1e300])
@pytest.mark.parametrize("field", sorted(NUMBERS))
def test_every_numeric_field_has_an_upper_bound(tmp_path, field, value):
    # --center-crop 3e9 crashed in TensorFlow (int32), in config.json too.
    # Refused naming the field, as Python and config.json write it.
    with pytest.raises(ConfigError, match=f"^{field}=") as info:
        DCGANConfig(**{field: value})
    assert "\n" not in str(info.value)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({field: value}) if value != 10**400 else "{}")
    if value != 10**400:  # JSON has no such number
        with pytest.raises(ConfigError, match=f": {field}=") as info:
            DCGANConfig.from_json(str(path))
        assert str(path) in str(info.value)


INTEGER_FIELDS = sorted(n for n, t in NUMBERS.items() if "int" in str(t))
DEFAULTS = {f.name: f.default for f in dataclasses.fields(DCGANConfig)}


def good_int(field):
    return {"steps": 10, "seed": 3, "center_crop": 108}.get(field, DEFAULTS[field])


@pytest.mark.parametrize("field", INTEGER_FIELDS)
@pytest.mark.parametrize("kind", ["float", "bool", "str"])
def test_integer_fields_take_integers_only_in_python_and_json(tmp_path, field, kind):
    # 28.0 was accepted for image_size and crashed later; the same
    # value must fare the same from Python and from config.json.
    good = good_int(field)
    value = {"float": float(good), "bool": True, "str": str(good)}[kind]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({field: value}))
    for make in (
        lambda: DCGANConfig(**{field: value}),
        lambda: DCGANConfig.from_json(str(path)),
    ):
        with pytest.raises(ConfigError, match=field) as info:
            make()
        assert "\n" not in str(info.value)


TEXT_FIELDS = sorted(
    f.name for f in dataclasses.fields(DCGANConfig) if "str" in str(f.type)
)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", [123, 1.5, True, ["dcgan"], {"a": 1}])
def test_text_fields_take_text_only(tmp_path, field, value):
    # eval_features: 123 validated, then broke --resume.
    path = tmp_path / "config.json"
    path.write_text(json.dumps({field: value}))
    with pytest.raises(ConfigError, match=field) as info:
        DCGANConfig.from_json(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


NUMPY_KINDS = [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("field", sorted(NUMBERS))
@pytest.mark.parametrize("index", range(3))
def test_numpy_scalars_are_the_numbers_they_are(tmp_path, field, index):
    # np.int64(16) was "must be an integer"; np.float32 was refused while
    # np.float64 was accepted. Stored as Python numbers, so they save.
    good = good_int(field) if field in INTEGER_FIELDS else DEFAULTS[field]
    if good is None:  # an optional real: None is its default
        good = 4e-4
    if field in INTEGER_FIELDS:
        kinds = [k for k in NUMPY_KINDS if np.iinfo(k).max >= good]
        kind = kinds[index * (len(kinds) - 1) // 2]
    else:
        kind = [np.float16, np.float32, np.float64][index]
    value = kind(good)
    config = DCGANConfig(**{field: value})
    stored = getattr(config, field)
    assert type(stored) in (int, float) and stored == pytest.approx(float(value))
    config.to_json(str(tmp_path / "config.json"))
    assert DCGANConfig.from_json(str(tmp_path / "config.json")) == config
