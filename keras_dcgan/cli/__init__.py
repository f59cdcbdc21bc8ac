"""The `keras-dcgan` command: flags in, library calls out.

Each subcommand module adds its parsers and maps its names to handlers;
handlers only turn flags into calls of the library functions that the
tests call too. Exit codes: 0 done, 1 an operating-system error (disk
full, permissions), 2 bad arguments or input (the message says what to
change; a run in use by another process too), 3 a non-finite loss, 4
stopped on a collapse, 130/143 stopped by SIGINT/SIGTERM with a checkpoint
saved.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

# Before TensorFlow is imported: its C++ start-up chatter is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_dcgan.cli import evaluate, generator, train  # noqa: E402
from keras_dcgan.cli.common import Parser, flag_table, flag_wording, in_flags
from keras_dcgan.cli.quiet import start_tensorflow, tensorflow_quietly

logger = logging.getLogger("keras_dcgan")
SUBCOMMANDS = (train, generator, evaluate)


def version() -> str:
    """This package's version and the TensorFlow and Keras it runs on,
    read from the installed packages' metadata (nothing is imported)."""
    from importlib import metadata

    from keras_dcgan import __version__

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (
        f"keras-dcgan {__version__} (TensorFlow {installed('tensorflow')}"
        f", Keras {installed('keras')})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog="keras-dcgan",
        description="Train, sample, export and evaluate DCGANs "
        "(Radford et al., 2015) on Keras 3.",
    )
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parsers(commands)
        for name, text in getattr(module, "EPILOGS", {}).items():
            commands.choices[name].epilog = text
    return parser


def check_args(args: argparse.Namespace) -> None:
    """Checks what the parser cannot, before any model or data is loaded.

    Output paths, and limits that span several flags (e.g. --rows times
    --steps); single flags are bounded by their argparse types.

    Raises:
        The error `main` reports with exit code 2 (DataError, RunError,
        ConfigError).
    """
    for module in SUBCOMMANDS:
        if args.command in module.CHECKS:
            module.CHECKS[args.command](args)


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that its `finally` clauses
    (temporary files and folders of `keras_dcgan.atomic`) run as they do
    on Ctrl-C; a BaseException, so no `except Exception` swallows it.
    `train` stops at a step boundary instead (`training.signals`)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _terminate_as_exception():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-dcgan ARGS`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.WARNING)
    from keras_dcgan.errors import DCGANError, TrainingError

    handlers = {}
    for module in SUBCOMMANDS:
        handlers.update(module.HANDLERS)
    flags = flag_table(parser, args.command)
    try:
        with _terminate_as_exception(), flag_wording(flags):
            # The checks need no TensorFlow where they can refuse a mistake
            # about a file; some that can still import it run in here too.
            with tensorflow_quietly():
                check_args(args)
                start_tensorflow()
            return handlers[args.command](args)
    except Terminated as e:  # `finally` clauses removed what was half made
        print(
            f"keras-dcgan: stopped by signal {e.signum}; nothing half-written is left.",
            file=sys.stderr,
        )
        return 128 + e.signum
    except DCGANError as e:  # the message says what happened and what to do
        kind = "" if isinstance(e, TrainingError) else "error: "
        # The library names Python parameters (`data=x.npz`); say the flags,
        # but in a message about a file's keys (config.json), as written.
        message = str(e) if e.names_keys else in_flags(str(e), flags)
        print(f"keras-dcgan: {kind}{message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("keras-dcgan: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # disk full, permissions: say so, no traceback
        print(
            f"keras-dcgan: error: {e}. Free space or fix permissions; "
            "files written before are intact.",
            file=sys.stderr,
        )
        return 1
