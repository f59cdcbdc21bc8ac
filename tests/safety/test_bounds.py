"""One home for bounds: every number a `DCGANConfig` field or a command's
flag accepts is held to its range by one integer check and one real-number
check (`keras_dcgan.bounds`), and refused in one style, the same from
Python, `config.json` and the command line: "NAME=VALUE: use an integer
from LOW to HIGH." (a real range says which end is excluded), where the
command line names its flag: "--NAME VALUE: ..."."""

import argparse
import ast
import contextlib
import io
import json
import math
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras_dcgan
from keras_dcgan import bounds, config
from keras_dcgan.cli import build_parser
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError

PACKAGE = pathlib.Path(keras_dcgan.__file__).parent
INTEGER_FIELDS = sorted(bounds.LIMITS)
REAL_FIELDS = sorted(bounds.RANGES)


def shown_bound(bound) -> str:
    """A bound as the refusals write it: integers in full, 1e12 as 1e+12."""
    return str(bound) if isinstance(bound, int) or bound < 1e6 else f"{bound:g}"


def shown(value) -> str:
    """A value as the refusals write it: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def style(name: str, value, noun: str, low, high, excluded=()) -> str:
    """The one refusal style, as a regular expression (the full stop left
    out: the command line's error line drops it). A parameter's value
    follows `name=`, a flag's `name `."""
    span = f"from {shown_bound(low)} to {shown_bound(high)}"
    if excluded:
        span += f" ({' and '.join(shown_bound(b) for b in excluded)} excluded)"
    prefix = re.escape(name if name.endswith("=") else f"{name} ") if name else ""
    return f"{prefix}{re.escape(shown(value))}: use {noun} {re.escape(span)}"


def field_range(field):
    """(noun, low, high, bounds excluded) of a numeric config field."""
    if field in bounds.LIMITS:
        return "an integer", bounds.MINIMA.get(field, 1), bounds.LIMITS[field], ()
    low, high, high_open = bounds.RANGES[field]
    excluded = ((low,) if field in bounds.LOW_EXCLUDED else ()) + (
        (high,) if high_open else ()
    )
    return "a finite number", low, high, excluded


def accepted(field, value) -> bool:
    """Whether `value` lies in `field`'s range, read from the bounds tables."""
    noun, low, high, excluded = field_range(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if noun == "an integer" and not isinstance(value, int):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return (low < value if low in excluded else low <= value) and (
        value < high if high in excluded else value <= high
    )


def assert_refused_in_style(field, value, message):
    noun, low, high, excluded = field_range(field)
    name = f"{field}="  # the parameter, as the caller wrote it
    expected = style(name, value, noun, low, high, excluded) + "\\."
    assert "\n" not in message
    assert re.fullmatch(expected, message), (message, expected)


def out_of_range(field):
    """Values just outside `field`'s range, and of the wrong kind."""
    noun, low, high, excluded = field_range(field)
    if noun == "an integer":
        wrong = [low - 1, high + 1, float(low), True, str(low)]
        return wrong if field in config.OPTIONAL else [*wrong, None]
    below = low if low in excluded else low - 1.0
    above = high if high in excluded else high * 2
    wrong = [below, above, math.nan, math.inf, -math.inf, True, "0.5"]
    return wrong if field in config.OPTIONAL else [*wrong, None]


CASES = [(f, v) for f in INTEGER_FIELDS + REAL_FIELDS for v in out_of_range(f)]


@pytest.mark.parametrize(("field", "value"), CASES, ids=map(repr, CASES))
def test_a_field_out_of_its_range_is_refused_in_the_one_style(tmp_path, field, value):
    # The config's own checker said "latent_dim=0 must be an integer >= 1
    # (--latent-dim)." and "dropout=1.0 must be a number in [0.0, 1.0)",
    # the library's checker "--num 0: use an integer from 1 to 100000.";
    # then both "latent_dim (--latent-dim) 0: use ...": now "latent_dim=0:
    # use an integer from 1 to 4096.", the parameter as Python writes it.
    with pytest.raises(ConfigError) as info:
        DCGANConfig(**{field: value})
    assert_refused_in_style(field, value, str(info.value))
    if isinstance(value, float) and not math.isfinite(value):
        return  # JSON has no NaN or infinity
    path = tmp_path / "config.json"
    path.write_text(json.dumps({field: value}))
    with pytest.raises(ConfigError) as info:
        DCGANConfig.from_json(str(path))
    prefix = f"{path}: "
    assert str(info.value).startswith(prefix)
    assert_refused_in_style(field, value, str(info.value)[len(prefix) :])


def border_values(field):
    noun, low, high, _ = field_range(field)
    if noun == "an integer":
        return st.one_of(
            st.integers(low - 2, low + 2),
            st.integers(high - 2, high + 2),
            st.integers(-(2**70), 2**70),
        )
    return st.one_of(
        st.sampled_from([low, high, math.nextafter(low, -1), math.nextafter(high, 2)]),
        st.floats(low - 1, high + 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**70), 2**70),
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_numeric_field_accepts_exactly_its_range(data):
    field = data.draw(st.sampled_from(INTEGER_FIELDS + REAL_FIELDS))
    value = data.draw(border_values(field))
    if accepted(field, value):
        # eval_every > 0 also needs eval_features (a check after the bounds)
        made = DCGANConfig(eval_features="inception", **{field: value})
        assert getattr(made, field) == value
        return
    with pytest.raises(ConfigError) as info:
        DCGANConfig(**{field: value})
    shown = float(value) if field in bounds.RANGES and abs(value) < 1e300 else value
    assert_refused_in_style(field, shown, str(info.value))


def bounded_flags():
    """(command, option strings, type) of every flag held to a range."""
    commands = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    return [
        (name, action.option_strings, action.type)
        for name, parser in sorted(commands.items())
        for action in parser._actions
        if hasattr(action.type, "minimum")
    ]


FLAGS = bounded_flags()


def flag_cases():
    # The cases are read from the parsers: they must not come up empty.
    integers = [kind for _, _, kind in FLAGS if isinstance(kind.minimum, int)]
    assert len(integers) >= 10 and len(FLAGS) > len(integers), FLAGS
    for command, options, kind in FLAGS:
        integer = isinstance(kind.minimum, int)
        low, high = kind.minimum, kind.maximum
        below = str(low - 1) if integer else str(low - 1.0)
        above = str(high + 1) if integer else str(high * 2)
        texts = [below, above, "abc", ""] + (["1.5"] if integer else ["nan", "1e400"])
        for text in texts:
            yield command, options, kind, text


@pytest.mark.parametrize(
    ("command", "options", "kind", "text"),
    list(flag_cases()),
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_flag_out_of_its_range_is_refused_in_the_one_style(
    command, options, kind, text
):
    # A text that was no number read "'abc' is not an integer; use one
    # from 1 to 100000.", a number out of range "0: use an integer from 1
    # to 100000.": two styles for one flag.
    integer = isinstance(kind.minimum, int)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, options[0], text])
    assert info.value.code == 2
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = text
    noun = "an integer" if integer else "a finite number"
    expected = style("", value, noun, kind.minimum, kind.maximum)
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(
        f"keras-dcgan: error: argument {re.escape('/'.join(options))}: {expected}"
        "; see `keras-dcgan [a-z-]+ --help`\\.",
        lines[0],
    ), lines[0]


CHECKERS = re.compile(r"_?check_(int|float|range|number)")


def test_bounds_have_one_home():
    # Bounds lived in config.py (LIMITS, RANGES and their checkers) and in
    # limits.py (which imported config's), each with its own checker.
    assert not (PACKAGE / "limits.py").exists()
    homes = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and CHECKERS.fullmatch(node.name):
                homes.setdefault(node.name, []).append(path.name)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if getattr(target, "id", "") in ("LIMITS", "MINIMA", "RANGES"):
                    homes.setdefault(target.id, []).append(path.name)
    assert homes == {
        "check_int": ["bounds.py"],
        "check_float": ["bounds.py"],
        "_check_number": ["bounds.py"],
        "LIMITS": ["bounds.py"],
        "MINIMA": ["bounds.py"],
        "RANGES": ["bounds.py"],
    }, homes
    assert bounds.LIMITS["seed"] == bounds.MAX_SEED
