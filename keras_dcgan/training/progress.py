"""What a run says while it trains, readable wherever its output goes.

- verbose 1 (a terminal): Keras' progress bar, one per epoch, on stdout.
  Its line is ended before any log record of keras_dcgan is written and
  whenever the run stops mid-epoch (a signal, a non-finite loss, a
  collapse), so no message is ever glued to the bar.
- verbose 2 (nohup, CI, a notebook): plain lines through this module's
  logger, without terminal codes: every `line_every(total)` steps, after
  `FIRST_LINE_STEP` steps if none came before, at least every
  `LINE_SECONDS` and at the last step. Each gives the step, the epoch, the
  mean losses, D(x) and D(G(z)) and the images per second since the
  previous line, and the time left at this process's mean speed.
- verbose "auto": 1 when stdout is a terminal, else 2.
"""

from __future__ import annotations

import logging
import sys
import time

import keras

from keras_dcgan.errors import ConfigError

logger = logging.getLogger(__name__)

LINES_PER_RUN = 100
FIRST_LINE_STEP = 10  # steps of this process before its first line
LINE_SECONDS = 60.0
SHOWN = (
    ("d_loss", "d_loss"),
    ("g_loss", "g_loss"),
    ("d_of_real", "D(x)"),
    ("d_of_fake", "D(G(z))"),
)
# The logger whose records (its own and its children's) end the bar's line.
PACKAGE_LOGGER = logging.getLogger(__name__.split(".")[0])


def resolve_verbose(verbose) -> int:
    """0, 1 or 2 from `verbose`; "auto" is 1 on a terminal, else 2.

    Raises:
        ConfigError: Anything else.
    """
    if isinstance(verbose, str) and verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ConfigError(
            f"verbose={str(verbose)[:40]!r}: use 0 (quiet), 1 (a "
            "progress bar), 2 (a line every few steps) or "
            "'auto'."
        )
    return int(verbose)


def line_every(total_steps: int) -> int:
    """Steps between two verbose-2 lines: about `LINES_PER_RUN` a run."""
    return max(1, total_steps // LINES_PER_RUN)


class Progress:
    """The bar or the lines of one run; a context manager around its steps.

    Args:
        verbose: 0, 1, 2 or "auto" (see the module).
        total_steps: Steps of the whole run.
        steps_per_epoch: Steps of one epoch.
        batch_size: Images per step.
        first_step: Steps done before this process (a resumed run's).
    """

    def __init__(
        self,
        verbose,
        total_steps: int,
        steps_per_epoch: int,
        batch_size: int,
        first_step: int = 0,
    ):
        self.verbose = resolve_verbose(verbose)
        self.total, self.per_epoch = total_steps, steps_per_epoch
        self.batch_size, self.first_step = batch_size, first_step
        self.epochs = -(-total_steps // steps_per_epoch)
        self.every = line_every(total_steps)
        self.bar, self.open, self.hook = None, False, None
        self.started = time.monotonic()
        self._restart(first_step)

    def __enter__(self):
        if self.verbose == 1:
            self.hook = _EndLineFirst(self)
            PACKAGE_LOGGER.addHandler(self.hook)
        return self

    def __exit__(self, *exc) -> None:
        self.end_line()
        if self.hook is not None:
            PACKAGE_LOGGER.removeHandler(self.hook)
            self.hook = None

    def start_epoch(self, epoch: int) -> None:
        """A new bar, under the epoch's number (verbose 1)."""
        if self.verbose == 1:
            self.end_line()
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
            self.bar = keras.utils.Progbar(self.per_epoch)

    def update(self, step: int, epoch: int, epoch_step: int, logs: dict) -> None:
        """After each step: the bar moves, or a line is logged if due."""
        if self.verbose == 1:
            self.bar.update(epoch_step, list(logs.items()))
            self.open = epoch_step < self.per_epoch  # Progbar ends it last
        elif self.verbose == 2:
            for name, _ in SHOWN:
                self.sums[name] = self.sums.get(name, 0.0) + logs[name]
            now = time.monotonic()
            if self.line_due(step, now):
                logger.info(self.line(step, epoch, now))
                self._restart(step)

    def line_due(self, step: int, now: float) -> bool:
        """Whether a verbose-2 line is due after `step` at time `now`."""
        first = (
            self.last_step == self.first_step  # no line yet
            and step - self.first_step >= FIRST_LINE_STEP
        )
        return (
            step % self.every == 0
            or step == self.total
            or first
            or now - self.since >= LINE_SECONDS
        )

    def line(self, step: int, epoch: int, now: float) -> str:
        """The verbose-2 line: plain text, means since the previous one."""
        steps = step - self.last_step
        means = ", ".join(
            f"{label} {self.sums[name] / steps:.4f}" for name, label in SHOWN
        )
        images = steps * self.batch_size / max(now - self.since, 1e-9)
        # The mean since this process began: the interval's own speed swings
        # with the grids and checkpoints that fell in it.
        left = (self.total - step) * (now - self.started) / (step - self.first_step)
        return (
            f"step {step}/{self.total}, epoch {epoch + 1}/{self.epochs}:"
            f" {means}; {images:.1f} images/s, ETA {_duration(left)}"
        )

    def end_line(self) -> None:
        """Ends the bar's line if it is still open (verbose 1)."""
        if self.open:
            self.open = False
            sys.stdout.write("\n")
            sys.stdout.flush()

    def _restart(self, step: int) -> None:
        self.last_step, self.since, self.sums = step, time.monotonic(), {}


class _EndLineFirst(logging.Handler):
    """Ends the bar's line before a keras_dcgan record reaches the handlers
    above it (those of `PACKAGE_LOGGER`'s ancestors run after this one)."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress.end_line()
        # Python writes warnings itself only where a record finds no
        # handler at all; this one must not silence that.
        last = logging.lastResort
        if (
            last is not None
            and record.levelno >= last.level
            and not self._others(logging.getLogger(record.name))
        ):
            last.handle(record)

    def _others(self, node) -> bool:
        """Whether a handler besides this one would see the record."""
        while node is not None:
            if any(h is not self for h in node.handlers):
                return True
            node = node.parent if node.propagate else None
        return False


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
