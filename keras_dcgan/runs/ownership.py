"""What in a run directory belongs to the run: its marker and manifest.

A run is recognised by `RUN/.keras_dcgan_run.json`, a file only this
library writes, never by a name another tool could use (`config.json`,
`checkpoints/`). It holds the package's name and version and the top-level
entries the run writes; a name is listed there before the run first writes
it. `--overwrite` removes what the manifest lists and nothing else, and only
where each entry is still what the run made (a folder, a regular file;
never a symbolic link, which is not followed). Names the library never
writes are ignored even when listed, so a manifest received with a run
folder cannot name other files for deletion.

    {"package": "keras_dcgan", "version": "0.1.0",
     "entries": ["config.json", "history.csv", "samples", ...]}
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from collections.abc import Iterable, Mapping

from keras_dcgan.atomic import write_text
from keras_dcgan.errors import RunError
from keras_dcgan.reading import read_json_object

logger = logging.getLogger(__name__)

MARKER = ".keras_dcgan_run.json"
PACKAGE = "keras_dcgan"
_MAX_MARKER_BYTES = 1 << 16


def read_manifest(directory: str) -> list | None:
    """The entries listed by a run's marker; None if there is no marker.

    Args:
        directory: The run directory.

    Returns:
        The listed top-level names, or None (not a run of this library).

    Raises:
        RunError: The marker is a link, not a file, or unreadable; such a
            directory is neither continued nor deleted.
    """
    path = os.path.join(directory, MARKER)
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_MARKER_BYTES:
        raise RunError(
            f"{path} is not a marker keras_dcgan wrote (a link or "
            "not a small regular file); the directory is left "
            "alone. Choose another output_dir=."
        )
    try:
        content = read_json_object(
            path, _MAX_MARKER_BYTES, {"package": str, "entries": list}
        )
        entries = content["entries"]
        if content["package"] != PACKAGE or not all(
            isinstance(e, str) for e in entries
        ):
            raise ValueError("not written by keras_dcgan")
    except (OSError, ValueError) as e:
        raise RunError(
            f"{path} is unreadable ({e}); the run is neither "
            "continued nor deleted. Restore the file or choose "
            "another output_dir=."
        ) from None
    return list(entries)


def enclosing_run(path: str) -> str | None:
    """The run directory that `path` would be written in, or None.

    A run is any folder holding the marker: the folder of `path` or one
    above it (links resolved). An output flag naming such a place would
    put a file the manifest does not list into the run, or replace one it
    does (`config.json`), so outputs are refused there.
    """
    folder = os.path.dirname(os.path.realpath(path))
    while True:
        if os.path.lexists(os.path.join(folder, MARKER)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def claim(directory: str, names: Iterable[str]) -> None:
    """Lists `names` in the run's manifest (written atomically, if new).

    Call it before the run first writes one of them.
    """
    from keras_dcgan import __version__

    listed = read_manifest(directory)
    entries = list(listed or [])
    entries += [name for name in names if name not in entries]
    if listed is not None and entries == listed:
        return
    write_text(
        os.path.join(directory, MARKER),
        json.dumps(
            {"package": PACKAGE, "version": __version__, "entries": entries}, indent=2
        )
        + "\n",
    )


def _kind(path: str) -> str | None:
    """ "dir", "file", "other" (a link, a FIFO, ...) or None if missing."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def remove_owned(directory: str, kinds: Mapping[str, str]) -> None:
    """Deletes the entries the manifest lists, and only those.

    Every listed entry is checked before anything is deleted: one that is
    no longer the kind the run made stops it, with nothing removed.

    Args:
        directory: A run directory with a marker.
        kinds: Name -> "dir" or "file", for every name the library writes;
            other listed names are ignored.

    Raises:
        RunError: No marker, or a listed entry is not what the run made.
    """
    listed = read_manifest(directory)
    if listed is None:
        raise RunError(f"{directory} has no {MARKER}; nothing is deleted.")
    doomed = []
    for name in listed:
        if name not in kinds:
            logger.warning(
                "%s lists %r, a name keras_dcgan never writes; it is left alone.",
                MARKER,
                name,
            )
            continue
        target = os.path.join(directory, name)
        found = _kind(target)
        if found is None:
            continue
        if found != kinds[name]:
            raise RunError(
                f"overwrite=True: {target} is not the {kinds[name]} the run made "
                "(a link or another kind of file now); nothing was deleted. "
                "Move it away or choose another output_dir=."
            )
        doomed.append((target, found))
    for target, found in doomed:
        if found == "dir":
            # rmtree removes links inside the folder, not what they point to.
            shutil.rmtree(target)
        else:
            os.remove(target)


def check_output_dir(path: str) -> None:
    """Refuses the empty path and a shared folder that holds other files.

    The current directory, its parents (the filesystem root among them)
    and the home directory are refused unless empty or already a run:
    a run goes in a folder of its own.

    Raises:
        RunError: With the fix.
    """
    if not path.strip():
        raise RunError(
            "output_dir= is empty; name the run's own folder, "
            "e.g. output_dir=runs/mnist."
        )
    real = os.path.realpath(path)
    cwd = os.path.realpath(os.getcwd())
    if real == cwd:
        what = "the current directory"
    elif cwd.startswith(real.rstrip(os.sep) + os.sep):
        what = "a parent of the current directory"
    elif real == os.path.realpath(os.path.expanduser("~")):
        what = "your home directory"
    else:
        return
    if os.path.isdir(real) and os.listdir(real) and read_manifest(real) is None:
        raise RunError(
            f"output_dir={path} is {what}, which holds files "
            "that are not a keras_dcgan run; name a new folder "
            "for the run, e.g. output_dir=runs/NAME."
        )
