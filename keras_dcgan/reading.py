"""The one way this package reads a small file it finds: a regular file
only, opened without blocking, read no further than a bound; JSON parsed
with a bounded nesting depth.

A FIFO, a device or a socket planted where a run keeps a file would hang
a plain `open` (a FIFO's open waits for a writer, its read for data) or
feed it without end (`/dev/zero`): `open_regular` opens without blocking
and checks the kind of what it opened, so neither the open nor the reads
can hang. Deeply nested JSON would exhaust Python's recursion: `parse_json`
checks the depth before parsing. Errors are the built-in kinds (OSError,
ValueError) with a short reason; callers name the file and the fix in
their own error type.
"""

from __future__ import annotations

import json
import os
import re
import stat

# JSON a run keeps is a few levels deep; anything deeper is not its own.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def special_file_kind(mode: int) -> str:
    """What a file that is not a regular file is, from its `st_mode`."""
    kinds = (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
    )
    return next((name for test, name in kinds if test(mode)), "special file")


def open_regular(path: str, append: bool = False):
    """Opens `path` in binary mode, if it is a regular file.

    It opens without blocking and checks the kind of what it opened, so
    that a FIFO (or a file swapped for one after a check) cannot hang the
    open or the reads, and a device is never read.

    Args:
        path: The file.
        append: Open it for appending (it must exist) instead of reading.

    Returns:
        A binary file object (blocking again once the kind is checked).

    Raises:
        OSError: It cannot be opened, or is not a regular file (the
            message says what it is, e.g. "not a regular file (FIFO)").
    """
    flags = os.O_NONBLOCK | (os.O_WRONLY | os.O_APPEND if append else os.O_RDONLY)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        # A FIFO without a reader refuses a non-blocking writer (ENXIO);
        # so does a socket any opener.
        if e.errno != getattr(os, "ENXIO", 6) and not isinstance(e, IsADirectoryError):
            raise
        mode = os.stat(path).st_mode
        raise OSError(
            e.errno, f"not a regular file ({special_file_kind(mode)})", path
        ) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(f"not a regular file ({special_file_kind(mode)})")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab" if append else "rb")


def read_bounded(path: str, max_bytes: int) -> bytes:
    """The bytes of the regular file `path`, refused above `max_bytes`.

    Raises:
        OSError: Missing, unreadable or not a regular file.
        ValueError: Larger than `max_bytes`.
    """
    with open_regular(path) as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    return raw


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH):
    """JSON from bytes, refusing what nests deeper than `max_depth`.

    Raises:
        ValueError: Not UTF-8, not JSON, or nested too deeply (the message
            is one short line).
    """
    # Brackets inside strings do not nest: drop the strings, then count.
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # bad JSON or bytes
        raise ValueError(f"not valid JSON ({str(e).splitlines()[0][:120]})") from None


def read_json(path: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH):
    """The JSON value in the regular file `path` (see `read_bounded`,
    `parse_json`).

    Raises:
        OSError: Missing, unreadable or not a regular file.
        ValueError: Too large, not UTF-8 JSON, or nested too deeply.
    """
    return parse_json(read_bounded(path, max_bytes), max_depth)


def read_json_object(
    path: str, max_bytes: int, types: dict, max_depth: int = MAX_JSON_DEPTH
) -> dict:
    """A JSON object whose keys in `types` hold values of those types.

    Args:
        path: The file.
        max_bytes: Read no further.
        types: {key: type or tuple of types} every key must have (bool is
            not taken for int); other keys are allowed.

    Raises:
        OSError: Missing, unreadable or not a regular file.
        ValueError: Not such an object; the message names the first key
            that is missing or of another type.
    """
    return check_object(read_json(path, max_bytes, max_depth), types)


def check_object(value, types: dict) -> dict:
    """`value` if it is a dict holding each key of `types` with that type.

    Raises:
        ValueError: It is not; the message names what is wrong.
    """
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {_json_type(value)}, not an object")
    for key, kind in types.items():
        if key not in value:
            raise ValueError(f"no {key!r}")
        item = value[key]
        if not isinstance(item, kind) or (
            isinstance(item, bool) and bool not in _as_tuple(kind)
        ):
            raise ValueError(f"{key!r} is a JSON {_json_type(item)}")
    return value


def _as_tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _json_type(value) -> str:
    names = {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
