"""The one error family of keras_dcgan: every error the package raises on
purpose is a `DCGANError`, carrying the exit code the CLI returns.

    DCGANError                    exit 2: bad arguments or input
    ├── ConfigError               a configuration value; the field to fix
    ├── DataError                 a data source; its name and the fix
    ├── RunError                  a run directory or a model file
    │   ├── RunLocked             another process is writing the run
    │   └── DamagedModelError     a damaged model file (a checkpoint may replace it)
    ├── MetricsError              what a metric cannot be computed from
    ├── StrategyError             a tf.distribute strategy that cannot run
    ├── RunWriteError             exit 1: the disk (full, permissions)
    └── TrainingError             exit 1: training stopped
        ├── NonFiniteLossError    exit 3: a loss or weight became NaN/inf
        ├── TrainingCollapsed     exit 4: --stop-on-collapse
        └── TrainingInterrupted   128 + signal: SIGINT/SIGTERM, saved

Each also derives from the built-in type callers caught before (ValueError,
RuntimeError or OSError), so existing `except` clauses keep working.

Messages speak the caller's language: they name the Python parameter
(`data=x.npz: ...`, `latent_dim=0: ...`, `pass resume=True`), never a
flag; `keras-dcgan` prints each with the parameters written as its flags
(`keras_dcgan.cli.common.in_flags`), but one about a file's keys
(`names_keys`: config.json's) as it is.
"""


class DCGANError(Exception):
    """Base of every error keras_dcgan raises on purpose.

    Attributes:
        exit_code: What `keras-dcgan` exits with when it stops on this error.
        names_keys: The message names keys of a file (config.json), which
            the CLI prints as they are, not as flags.
    """

    exit_code = 2
    names_keys = False


class ConfigError(DCGANError, ValueError):
    """A configuration value is invalid; the message says how to fix it."""


class DataError(DCGANError, ValueError):
    """The data cannot be used; the message names the source and the fix."""


class RunError(DCGANError, ValueError):
    """A run directory or model file cannot be used as asked."""


class RunLocked(RunError):
    """Another process is writing the run."""


class DamagedModelError(RunError):
    """A model file is damaged (truncated, not a zip, a failed checksum),
    as opposed to refused; a copy elsewhere may replace it."""


class MetricsError(DCGANError, ValueError):
    """A metric cannot be computed from what it was given."""


class StrategyError(DCGANError, RuntimeError):
    """A strategy cannot be made here; the message says what to do."""


class RunWriteError(DCGANError, OSError):
    """A file of the run could not be written (disk full, permissions);
    the message names it and says that the previous files are intact."""

    exit_code = 1


class TrainingError(DCGANError, RuntimeError):
    """Training stopped; `exit_code` is what the CLI returns."""

    exit_code = 1


class NonFiniteLossError(TrainingError):
    """A loss or a weight became NaN or infinite."""

    exit_code = 3


class TrainingCollapsed(TrainingError):
    """A collapse lasted `collapse_patience` steps and `stop_on_collapse`."""

    exit_code = 4


class TrainingInterrupted(TrainingError):
    """SIGINT or SIGTERM: the run saved a checkpoint and stopped."""

    def __init__(self, signum: int, step: int, started: bool = True):
        super().__init__(
            f"Stopped by signal {signum} after step {step}; "
            "the checkpoint is saved: resume=True goes on."
            if started
            else f"Stopped by signal {signum} before the run directory was "
            "written; nothing in it changed: run the same command again."
        )
        self.signum, self.step = signum, step
        self.exit_code = 128 + signum  # the shell's convention
