"""Helpers the subcommands share: one-line usage errors, the library's
parameter names written as flags, bounded numeric flags, and checks of
output paths made before any work."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import stat
from collections.abc import Callable

from keras_dcgan import bounds


class RangeHelp(argparse.HelpFormatter):
    """Help that shows each flag's range and default after its text, and
    an `examples:` epilog as written (one command a line)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return text
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if hasattr(action.type, "minimum"):
            text += f" ({action.type.minimum} to {action.type.maximum})"
        shown = action.default is not None and action.default is not False
        if shown and action.default != argparse.SUPPRESS and "default" not in text:
            text += f" (default: {action.default})"
        return text


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line, like every other
    error of the command: `keras-dcgan: error: argument --num: ...`, exit 2.
    Subcommands' parsers are of this class too, and show flags' ranges.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", RangeHelp)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        """Prints `message` in one line and exits with code 2."""
        text = " ".join(message.split()).rstrip(".")
        self.exit(2, f"keras-dcgan: error: {text}; see `{self.prog} --help`.\n")


# Library messages name what the caller passed in Python: `data=x.npz`,
# `generator=ema`, `resume=True`, `latent_dim=0`. The CLI names it by the
# flag that set it: the parser's own option for each destination (`data`
# -> `--data`, `output_dir` -> `--output-dir`), plus these entries, per
# subcommand, where the library's parameter is not the flag's destination.
# A generic name (`path`) is mapped only in a subcommand where one library
# function whose messages reach the user takes it.
PARAMETERS = {
    "train": {},
    "sample": {"path": "--save-latents"},
    "export": {"base_dir": "--output-dir", "path": "--output"},
    "interpolate": {"path": "--output"},
    "arithmetic": {
        "path": "--latents",
        "plus_groups": "--plus",
        "minus_groups": "--minus",
        "num_variations": "--variations",
    },
    "nearest": {"path": "--output"},
    "evaluate": {"metric_names": "--metrics", "spec": "--features"},
    "train-classifier": {},
}

# `name=` where a message names a parameter: at the start of a word (after
# a space, or a "(" or "`" that starts one), so that a name inside a value
# (data=runs/seed=1.npz, data=x(seed=1)) is part of the value. Linear in
# the message, which is one line of bounded length.
_PARAMETER = re.compile(
    r"(?:(?<![^\s])|(?<=^[(`])|(?<=\s[(`]))([a-z][a-z0-9_]*)=(True\b)?"
)
# What follows a name given without a value (`data=, not both`, `lower
# batch_size=.`); anything else is its value (`data=./x.npz`, `data=. is`).
_NO_VALUE = re.compile(r"$|\s|[,;:)`]([\s.,;:)]|$)|\.($|\s+[A-Z\n])")


def flag_table(parser: argparse.ArgumentParser, command: str) -> dict:
    """{Python parameter: flag} of subcommand `command` of `parser`.

    Every flag of every subcommand by its destination (one destination has
    one flag in all of them), then `command`'s own, then its entries in
    `PARAMETERS`. Made once per command line, from the parsers alone.
    """
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    table, own = {}, {}
    for name, subparser in commands.choices.items():
        for action in subparser._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if longs and action.dest != "help":
                (own if name == command else table)[action.dest] = longs[0]
    return {**table, **own, **PARAMETERS.get(command, {})}


def in_flags(message: str, table: dict) -> str:
    """`message` with each parameter of `table` it names (`data=x.npz`,
    `resume=True`, `batch_size=`) written as its flag (`--data x.npz`,
    `--resume`, `--batch-size`); names not in `table` stay as written.

    Example:
        >>> in_flags("data=x.npz: no such file.", {"data": "--data"})
        '--data x.npz: no such file.'
    """

    def flag(match: re.Match) -> str:
        name, true = match.groups()
        if name not in table:
            return match.group(0)
        if true or _NO_VALUE.match(message, match.end()):
            return table[name]
        return table[name] + " "

    return _PARAMETER.sub(flag, message)


class _FlagWording(logging.Filter):
    """Writes the package's log lines in flags, as `in_flags` does errors."""

    def __init__(self, table: dict):
        super().__init__()
        self.table = table

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] == "keras_dcgan":
            record.msg, record.args = in_flags(record.getMessage(), self.table), None
        return True


@contextlib.contextmanager
def flag_wording(table: dict):
    """While the command runs, the package's log lines that name a Python
    parameter name its flag instead (`generator=raw` -> `--generator raw`)."""
    wording = _FlagWording(table)
    handlers = logging.getLogger().handlers + logging.getLogger("keras_dcgan").handlers
    for handler in handlers:
        handler.addFilter(wording)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(wording)


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse `type`: an integer from `minimum` to `maximum`.

    The function returned carries `minimum` and `maximum` as attributes, so
    a test can hold every parsed value to them.

    Example:
        >>> parser.add_argument("--num", type=bounded_int(1, 100_000))
    """
    return _bounded(int, bounds.check_int, minimum, maximum)


def finite_float(minimum: float, maximum: float) -> Callable[[str], float]:
    """An argparse `type`: a finite number from `minimum` to `maximum`.

    NaN and infinities are refused. Like `bounded_int`, the function
    carries `minimum` and `maximum`.

    Example:
        >>> parser.add_argument("--noise", type=finite_float(0.0, 10.0))
    """
    return _bounded(float, bounds.check_float, minimum, maximum)


def _bounded(convert: Callable, check: Callable, minimum, maximum) -> Callable:
    """An argparse `type`: text read by `convert`, held to `check`'s range.

    Text that is no number is refused by `check` too, in the same words as
    a number out of range (the range to use).
    """

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:  # not a number; also digits too long to convert
            value = text
        return check(value, minimum, maximum, error=argparse.ArgumentTypeError)

    parse.minimum, parse.maximum = minimum, maximum
    return parse


def add_seed(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """The `--seed` flag, with the range `DCGANConfig.seed` accepts.

    Every command draws with seed 0 unless told otherwise, like `train`
    (`DCGANConfig.seed`): the same command gives the same pictures.
    """
    parser.add_argument(
        "--seed",
        type=bounded_int(0, bounds.MAX_SEED),
        default=default,
        help="same seed, same result; another seed, other latents",
    )


def checkpoint_choice(text: str):
    """An argparse `type`: `latest`, `best` or a step number (an int).

    Example:
        >>> parser.add_argument("--checkpoint", type=checkpoint_choice)
    """
    if text in ("latest", "best"):
        return text
    try:
        return bounds.check_int(int(text), 0, bounds.MAX_STEP)
    except ValueError:  # not an integer, or a negative or huge one
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: use latest (the newest checkpoint), best (the "
            "one --eval-every keeps) or a step number, e.g. 1200"
        ) from None


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    """The `--checkpoint` flag of every command that reads a generator."""
    parser.add_argument(
        "--checkpoint",
        type=checkpoint_choice,
        default=None,
        metavar="latest|best|STEP",
        help="read this checkpoint's generator: latest, best (kept by "
        "train --eval-every) or a step; default: generator.keras, "
        "else the newest checkpoint",
    )


def add_generator(parser: argparse.ArgumentParser) -> None:
    """The `--generator` flag of every command that reads a generator."""
    parser.add_argument(
        "--generator",
        choices=["ema", "raw"],
        default=None,
        help="of a run trained with --ema: ema, the average of G's weights "
        "(what training sampled and scored), or raw, G itself; default: "
        "the average when the run has one, else G",
    )


def add_int(parser, flag: str, default: int | None, bounds: tuple, text: str) -> None:
    """An integer flag refused outside `bounds` (minimum, maximum; both
    included) with argparse's one-line usage error."""
    parser.add_argument(flag, default=default, type=bounded_int(*bounds), help=text)


def add_image_source(parser: argparse.ArgumentParser, dataset: str, data: str) -> None:
    """`--dataset` or `--data` (one of them is required) and `--data-dir`:
    the real images a command reads; `dataset` and `data` are their help."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help=dataset)
    source.add_argument("--data", help=data)
    parser.add_argument("--data-dir", help="TFDS data directory")


def load_source_images(args, image_size: int, channels: int, **options):
    """The images `--dataset`, `--data` and `--data-dir` name, at this size
    and channel count; `options` are `keras_dcgan.data.load_images`' others."""
    from keras_dcgan import data  # imports TensorFlow

    return data.load_images(
        image_size,
        channels,
        dataset=args.dataset,
        data=args.data,
        data_dir=args.data_dir,
        **options,
    )


def check_output(
    flag: str,
    path: str,
    allowed: tuple,
    own: Callable[[str], bool] | None = None,
    kind: str = "",
) -> None:
    """Refuses, before any work, an output file the command cannot write,
    or must not: one inside a run, or an existing file it did not make.

    Args:
        flag: The flag that named the file, for the message.
        path: The file to be written.
        allowed: Extensions the command can write, e.g. (".png", ".gif").
        own: Whether an existing file at `path` is one this command wrote
            (its content says so); only such a file is replaced.
        kind: What the command writes, for the message ("a picture").

    Raises:
        DataError: Another extension, a folder in the way, a missing or
            read-only parent folder, a path inside a run directory, or an
            existing file that is not `own`.
    """
    from keras_dcgan.errors import DataError
    from keras_dcgan.reading import special_file_kind
    from keras_dcgan.runs.ownership import enclosing_run

    if os.path.splitext(path)[1].lower() not in allowed:
        raise DataError(
            f"{flag} {path!r}: use a file name ending in {' or '.join(allowed)}."
        )
    if os.path.isdir(path):
        raise DataError(f"{flag} {path} is a folder; name a file in it.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DataError(
            f"{flag} {path}: the folder {folder} does not exist; "
            "create it first or write somewhere else."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(
            f"{flag} {path}: the folder {folder} is not writable; choose another."
        )
    run = enclosing_run(path)
    if run is not None:
        raise DataError(
            f"{flag} {path} is inside the run {run}, which holds only what "
            "training writes; name a file outside it."
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise DataError(
            f"{flag} {path} is a {special_file_kind(mode)}; it is not "
            "replaced. Name a new file."
        )
    if own is not None and not own(path):
        raise DataError(
            f"{flag} {path} exists and is not {kind} keras-dcgan wrote; it is "
            "not replaced. Name a new file, or move it away."
        )


def check_run_to_read(run: str, checkpoint=None) -> None:
    """Refuses, before TensorFlow is imported, a run a command cannot read.

    A missing or unreadable folder, one that is not a run, or a
    `--checkpoint STEP` the run has no checkpoint of is answered in a
    second; the reader checks the rest (complete files, the
    generator's shape) once the run is opened.

    Args:
        run: The run directory named on the command line.
        checkpoint: `--checkpoint`: "latest", "best", a step, or None.

    Raises:
        RunError: With the reason and the fix.
    """
    from keras_dcgan.errors import RunError
    from keras_dcgan.runs import run_dir

    run_dir.check_literal_path(run)
    if not os.path.exists(run):
        raise RunError(
            f"{run}: no such run directory; name the --output-dir of a "
            "`keras-dcgan train`."
        )
    if not os.path.isdir(run):
        raise RunError(f"{run} is a file, not a run directory; name the run's folder.")
    if not os.access(run, os.R_OK | os.X_OK):
        raise RunError(f"{run} is not readable; fix its permissions.")
    if not any(
        os.path.lexists(os.path.join(run, name))
        for name in (run_dir.CONFIG, run_dir.GENERATOR)
    ):
        raise RunError(f"{run} is not a keras_dcgan run ({run_dir.CONFIG} is missing).")
    if isinstance(checkpoint, int) and not isinstance(checkpoint, bool):
        steps = checkpoint_index_steps(run)
        if checkpoint not in steps:
            there = (
                "its checkpoints are of steps " + ", ".join(map(str, steps))
                if steps
                else "it has no checkpoint at all"
            )
            raise RunError(
                f"--checkpoint {checkpoint}: {run} has no checkpoint of "
                f"step {checkpoint}; {there}."
            )


def checkpoint_index_steps(run: str) -> list:
    """The steps of a run's checkpoints (`checkpoints/` and `best/`) that
    have an index file, read from the names alone (no TensorFlow)."""
    from keras_dcgan.runs import run_dir

    folder = os.path.join(run, run_dir.CHECKPOINTS)
    steps = set()
    for directory in (folder, os.path.join(folder, run_dir.BEST_DIR)):
        try:
            names = os.listdir(directory)
        except OSError:  # none, or unreadable: the reader says which
            continue
        steps.update(
            int(match.group(1))
            for match in map(_CHECKPOINT_INDEX.fullmatch, names)
            if match
        )
    return sorted(steps)


_CHECKPOINT_INDEX = re.compile(r"ckpt-(\d{1,18})\.index")


def check_input_exists(
    flag: str, path: str | None, fix: str = "check the path"
) -> None:
    """Refuses, before TensorFlow is imported, an input file or folder
    that does not exist or cannot be read.

    Args:
        flag: The flag that named the path, for the message.
        path: The path given, or None (nothing to check).
        fix: What to do when it does not exist, for the message.

    Raises:
        DataError: `flag path: no such file or directory; FIX.`, or not
            readable.
    """
    from keras_dcgan.errors import DataError

    if path is None:
        return
    if not os.path.exists(path):
        raise DataError(f"{flag} {path}: no such file or directory; {fix}.")
    wanted = os.R_OK | (os.X_OK if os.path.isdir(path) else 0)
    if not os.access(path, wanted):
        raise DataError(f"{flag} {path} is not readable; fix its permissions.")


def check_classifier_exists(flag: str, spec: str | None) -> None:
    """Refuses, before TensorFlow is imported, `classifier:PATH` features
    whose file does not exist.

    Raises:
        DataError: Naming `flag` and how to make a classifier.
    """
    from keras_dcgan.errors import DataError

    if not isinstance(spec, str) or not spec.startswith("classifier:"):
        return
    path = spec[len("classifier:") :]
    if path and not os.path.lexists(path):
        raise DataError(
            f"{flag} classifier:{path}: no such file. Train one with "
            "`keras-dcgan train-classifier`."
        )
