"""One writer per run directory: an advisory lock held for the whole run.

`RUN/.keras_dcgan.lock` is locked with `fcntl.flock` by every process that
writes into the run (`train`, new or resumed), before it writes or deletes
anything, and stays locked until that process ends. The operating system
releases the lock on any exit, SIGKILL included, so a crashed run never
leaves a stale lock behind. The file holds the holder's PID and host, for
the message a second writer gets. Readers (`sample`, `export`, ...) take no
lock: they write nothing into the run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
from collections.abc import Iterator

from keras_dcgan.errors import RunError, RunLocked

try:
    import fcntl
except ImportError:  # Windows: no flock, so no training (readers import this)
    fcntl = None
from keras_dcgan.reading import check_object, parse_json, special_file_kind

LOCK = ".keras_dcgan.lock"
_MAX_HOLDER_BYTES = 4096  # {"pid": ..., "host": ...} is far smaller


@contextlib.contextmanager
def run_lock(directory: str) -> Iterator[None]:
    """Holds the lock of a run directory for the `with` block.

    Args:
        directory: The run directory; made if missing.

    Raises:
        RunLocked: Another process holds the lock (the message names its
            PID and host).
        RunError: The lock file is a link or not a regular file.

    Example:
        >>> with run_lock("runs/mnist"):
        ...     ...  # the only writer of runs/mnist
    """
    if fcntl is None:
        raise RunError(
            "Training needs Linux or macOS: a run is locked with "
            "fcntl.flock, which this system lacks. On Windows, train in WSL."
        )
    os.makedirs(directory, exist_ok=True)
    fd = _open_regular(os.path.join(directory, LOCK))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise RunLocked(
                f"{directory} is being written by another keras-dcgan "
                f"process (PID {holder.get('pid', 'unknown')} on host "
                f"{holder.get('host', 'unknown')}); wait for it to end or "
                "stop it, then run again (its lock goes when it exits)."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(),
            0,
        )
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # no holder named once it is free
    finally:
        os.close(fd)  # releases the lock


def _open_regular(path: str) -> int:
    """Opens (creating) the lock file, never through a link, never blocking
    on a FIFO; anything but a regular file is named as what it is."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RunError(
                f"{path} is a symbolic link; a run's lock must be its "
                "own file. Remove the link and run again."
            ) from None
        try:  # a directory (EISDIR), a socket (ENXIO): say so, not "disk"
            mode = os.lstat(path).st_mode
        except OSError:
            raise e from None
        if stat.S_ISREG(mode):
            raise
        raise _not_regular(path, mode) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_regular(path, mode)
    return fd


def _not_regular(path: str, mode: int) -> RunError:
    return RunError(
        f"{path} is a {special_file_kind(mode)}, not a regular file; a "
        "run's lock must be its own file. Remove it and run again."
    )


def _read_holder(fd: int) -> dict:
    """The holder's {"pid", "host"}, or {} if it has not written them yet
    (or wrote something else: the text is only for the message)."""
    try:
        holder = parse_json(os.pread(fd, _MAX_HOLDER_BYTES, 0) or b"{}")
        holder = check_object(holder, {"pid": int, "host": str})
    except ValueError:
        return {}
    # One line in the message, whatever the file holds.
    return {"pid": holder["pid"], "host": " ".join(holder["host"].split())[:255]}
