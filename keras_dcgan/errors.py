"""Errors about run directories, shared by the modules that handle them.

`RunError` is a bad request (exit code 2 in the CLI: the message says what
to change); `RunWriteError` is the machine refusing a write (full disk,
permissions: exit code 1), after which what was written before is intact.
"""


class RunError(ValueError):
    """The run directory cannot be used as asked; the message says why."""


class RunWriteError(OSError):
    """A file of the run could not be written (disk full, permissions);
    the message names it and says that the previous files are intact."""
