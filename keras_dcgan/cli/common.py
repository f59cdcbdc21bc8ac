"""Helpers the subcommands share."""

from __future__ import annotations

import os


def check_extension(flag: str, path: str, allowed: tuple) -> None:
    """Refuses an output file name whose format the command cannot write."""
    from keras_dcgan.errors import DataError

    if os.path.splitext(path)[1].lower() not in allowed:
        raise DataError(f"{flag} {path}: use a file name ending in "
                        f"{' or '.join(allowed)}.")
