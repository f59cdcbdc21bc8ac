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
import fcntl
import json
import os
import socket
import stat
from collections.abc import Iterator

from keras_dcgan.errors import RunError, RunLocked

LOCK = ".keras_dcgan.lock"


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
    """Opens (creating) the lock file, never through a link."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        raise RunError(
            f"{path} is a symbolic link; a run's lock must be its "
            "own file. Remove the link and run again."
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RunError(f"{path} is not a regular file; remove it and run again.")
    return fd


def _read_holder(fd: int) -> dict:
    """The holder's {"pid", "host"}, or {} if it has not written them yet."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}
