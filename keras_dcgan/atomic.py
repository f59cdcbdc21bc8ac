"""The one way this package writes a file: a fresh temporary file, then a rename.

A reader (or a crash) never sees half a file: the content goes to a new
file with a random name in the target's folder, created with `O_EXCL`
(`tempfile.mkstemp`), so a symbolic link planted under a name the tool is
known to use cannot redirect the write; it is flushed to disk and then
renamed over the target, which replaces the target itself (a link there
is replaced, never followed). On any error the temporary file is removed
and the previous target, if any, is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str, fsync: bool = True) -> Iterator[str]:
    """Yields a temporary path; on success it replaces `path` atomically.

    Args:
        path: The file to write.
        fsync: Flush the file to disk before the rename, so that a power
            loss cannot leave an empty file under the final name.

    Yields:
        The temporary file's path (same folder and extension as `path`,
        already created, empty); write the content there.

    Example:
        >>> with atomic_write("run/config.json") as tmp:
        ...     with open(tmp, "w") as f:
        ...         f.write("{}")
    """
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{name}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private (0600); the result gets the mode
        # any new file of the user gets, so that others can read it.
        os.chmod(tmp, 0o666 & ~_umask())
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(path: str) -> Iterator[str]:
    """Yields a new empty folder beside `path`; on success it becomes `path`.

    The folder has a random name (`tempfile.mkdtemp`); before the rename it
    gets the mode any new folder of the user gets (mkdtemp makes it 0700),
    so that another user, such as a model server's, can read it.

    Args:
        path: The folder to create; it must not exist.

    Yields:
        The temporary folder's path; fill it.

    Raises:
        FileExistsError: `path` appeared meanwhile; it is left as it was.
    """
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(path)}.", dir=parent)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if os.path.lexists(path):  # rename would replace an empty folder
            raise FileExistsError(errno.EEXIST, "exists already", path)
        os.rename(tmp, path)
    finally:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp)


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically (see `atomic_write`)."""
    with atomic_write(path) as tmp, open(tmp, "w") as f:
        f.write(text)
