"""A checkpoint folder's index and files, checked: which checkpoints are
the run's own, what an interrupted save left, and the index rebuilt.

TensorFlow reads the paths it is given as patterns, and a
`tf.train.CheckpointManager` deletes, rotating, whatever the index lists;
so an index entry counts only when it names a complete `ckpt-N` of this
very folder made of regular files. Other entries (absolute paths
elsewhere, `../`, links leading out, patterns, FIFOs) are ignored with one
warning, and dropped from the index before a manager reads it. A FIFO is
never opened: every file is checked with `lstat` first.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import stat

import tensorflow as tf

from keras_dcgan.atomic import write_text
from keras_dcgan.errors import RunError
from keras_dcgan.runs.run_dir import (
    CHECKPOINT_FILE,
    INDEX,
    PATTERN_CHARACTERS,
    check_literal_path,
    not_regular,
    refuse_special_checkpoint_files,
)

logger = logging.getLogger(__name__)

_NUMBERED = re.compile(r"ckpt-(\d+)(?:\.index|\.data-\d+-of-\d+|_temp.*)")
_CHECKPOINT = re.compile(r"ckpt-\d+")
# An index of a thousand checkpoints (the most a run keeps) is under 100 KB.
MAX_INDEX_BYTES = 1 << 20


def tidy_index(directory: str, warn: bool = True) -> list:
    """Makes a checkpoint folder safe for a `tf.train.CheckpointManager`.

    The manager deletes, when it rotates, whatever the index lists, and
    hangs on a FIFO; so before one reads the folder: its checkpoint files
    must be regular files, the index is rewritten (atomically) to list
    only the folder's own complete checkpoints (rebuilt from their files
    when it lists none, removed when there are none), and what an
    interrupted save left is removed. Nothing outside the folder is
    opened or deleted.

    Args:
        directory: `RUN/checkpoints` or `RUN/checkpoints/best`.
        warn: Log the entries that are ignored.

    Returns:
        The names of the checkpoints kept, oldest first.

    Raises:
        RunError: A pattern character in its path; a checkpoint file or
            the index is not a regular file; the index cannot be read.
    """
    check_literal_path(directory)
    refuse_special_checkpoint_files(directory)
    index = read_index(directory, warn)
    keep = index.own
    if not keep:
        keep = sorted(complete_checkpoints(directory), key=checkpoint_number)
        if keep:
            _rebuild_index(directory, keep, index.exists)
        elif index.exists:
            logger.warning(
                "Removing the checkpoint index %s: it lists no checkpoint of "
                "that folder.",
                os.path.join(directory, INDEX),
            )
            os.remove(os.path.join(directory, INDEX))
    elif not index.canonical:
        times = index.times
        last = index.last_preserved
        if None in times:
            times = _file_times(directory, keep)
            last = min(times) - 1
        _write_index(directory, keep, times, last)
    _remove_leftovers(directory, set(keep))
    return keep


@dataclasses.dataclass
class _Index:
    """What a checkpoint folder's index lists, checked."""

    exists: bool
    own: list  # its own complete checkpoints listed (names), oldest first
    times: list  # their recorded times (None where not recorded)
    last_preserved: float
    canonical: bool  # lists exactly `own`, as TensorFlow writes them


def read_index(directory: str, warn: bool) -> _Index:
    """The index of `directory`, its entries checked (see the module's doc).

    Raises:
        RunError: It is not a regular file, or cannot be read.
    """
    index = os.path.join(directory, INDEX)
    if not os.path.lexists(index):
        return _Index(False, [], [], 0.0, True)
    kind = not_regular(index)
    if kind:
        raise RunError(
            f"The checkpoint index {index} is a {kind}, not the file "
            "TensorFlow writes; nothing was changed. Delete it to rebuild it "
            "from the newest complete checkpoint files, then run again."
        )
    state, error = None, None
    size = os.lstat(index).st_size
    if size > MAX_INDEX_BYTES:
        error = f"{size} bytes, over {MAX_INDEX_BYTES}"
    else:
        try:
            state = tf.train.get_checkpoint_state(directory)
        except Exception as e:  # text_format raises its own ParseError
            error = e
    if state is None or not state.model_checkpoint_path:
        raise RunError(
            f"The checkpoint index {index} is empty or unreadable"
            f"{f' ({error})' if error else ''}. Nothing was changed. Delete "
            "that file to rebuild it from the newest complete checkpoint "
            "files, then run again."
        )
    entries = list(state.all_model_checkpoint_paths)
    times = list(state.all_model_checkpoint_timestamps)
    if len(times) != len(entries):
        times = [None] * len(entries)
    if state.model_checkpoint_path not in entries:
        entries.append(state.model_checkpoint_path)
        times.append(None)
    complete, special = _scan(directory)
    own, own_times, ignored = [], [], []
    for entry, recorded in zip(entries, times):
        name = _own_name(directory, entry)
        if name is None or name in special:
            if entry not in ignored:
                ignored.append(entry)
        elif name in complete and name not in own:
            own.append(name)
            own_times.append(recorded)
        # Else its files are gone: rotated away by training meanwhile.
    if ignored and warn:
        shown = ", ".join(repr(e[:200]) for e in ignored[:5])
        more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        logger.warning(
            "Ignoring %d entries of the checkpoint index %s that are not "
            "complete checkpoints of that folder made of regular files (never "
            "opened or deleted): %s%s.",
            len(ignored),
            index,
            shown,
            more,
        )
    canonical = (
        entries == [os.path.join(directory, name) for name in own]
        and state.model_checkpoint_path == entries[-1]
    )
    return _Index(True, own, own_times, state.last_preserved_timestamp, canonical)


def _own_name(directory: str, entry: str) -> str | None:
    """`ckpt-N` if index entry `entry` names a checkpoint of `directory`
    itself (through no pattern and no link leading elsewhere), else None."""
    name = os.path.basename(entry)
    if not _CHECKPOINT.fullmatch(name) or any(c in entry for c in PATTERN_CHARACTERS):
        return None
    if os.path.realpath(os.path.dirname(entry)) != os.path.realpath(directory):
        return None
    return name


def _scan(directory: str) -> tuple:
    """(complete, special): the `ckpt-N` whose index and every data shard
    are regular files; those with a file that is not (a FIFO, a link, ...).
    Only `lstat` is used: nothing is opened."""
    try:
        names = os.listdir(directory)
    except OSError:
        return set(), set()
    indexes, shards, special = set(), {}, set()
    for name in names:
        match = CHECKPOINT_FILE.fullmatch(name)
        if not match:
            continue
        prefix = match.group(1)
        try:
            mode = os.lstat(os.path.join(directory, name)).st_mode
        except FileNotFoundError:  # rotated away since the listing
            continue
        if not stat.S_ISREG(mode):
            special.add(prefix)
        elif match.group(2) is None:
            indexes.add(prefix)
        else:
            shards.setdefault(prefix, set()).add(
                (int(match.group(2)), int(match.group(3)))
            )
    complete = set()
    for prefix in indexes - special:
        parts = shards.get(prefix, set())
        totals = {total for _, total in parts}
        if len(totals) == 1:
            (total,) = totals
            if len(parts) == total and all(i < total for i, _ in parts):
                complete.add(prefix)
    return complete, special


def complete_checkpoints(directory: str) -> set:
    """ckpt-N prefixes with an index and every data shard it names, all
    regular files (checked without opening them)."""
    return _scan(directory)[0]


def _remove_leftovers(directory: str, keep: set) -> None:
    """Deletes what a killed save left: temp shards, files never indexed."""
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        match = _NUMBERED.fullmatch(name)
        if not match or f"ckpt-{match.group(1)}" in keep:
            continue
        path = os.path.join(directory, name)
        logger.warning("Removing %s, left by an interrupted save.", path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def checkpoint_number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _file_times(directory: str, names: list) -> list:
    return [os.path.getmtime(os.path.join(directory, n + ".index")) for n in names]


def _rebuild_index(directory: str, names: list, had_index: bool) -> None:
    logger.warning(
        "%s; rebuilding it from %s.",
        f"The checkpoint index of {directory} lists none of its checkpoints"
        if had_index
        else f"No checkpoint index in {directory}",
        ", ".join(names),
    )
    # The manager only tracks (and rotates) checkpoints newer than the last
    # "preserved" time, so the rebuilt index carries their file times.
    times = _file_times(directory, names)
    _write_index(directory, names, times, min(times) - 1)


def _write_index(directory: str, names: list, times: list, last: float) -> None:
    """Writes the index as TensorFlow does (names relative to the folder),
    atomically."""
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    lines += [f"all_model_checkpoint_timestamps: {float(t)!r}" for t in times]
    lines.append(f"last_preserved_timestamp: {float(last)!r}")
    write_text(os.path.join(directory, INDEX), "\n".join(lines) + "\n")
