"""Bounds of the counts and sizes every command accepts, free of TensorFlow.

The CLI's flags (parsed before TensorFlow is imported) and the library's
own checks read the same values here. Beyond them a typo would exhaust
memory, wrap an int32 or draw a picture nobody can read; a real need for
more is better met by several calls.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from keras_dcgan.config import LIMITS

MAX_SEED = 2**31 - 1  # DCGANConfig.seed's range, for every --seed
MAX_INT32 = 2**31 - 1  # export: batch sizes are int32 in the graph
MAX_VERSION = 2**63 - 1  # TF Serving reads version folders as int64
MAX_STEP = 2**63 - 1  # a run's step counter is an int64 (--checkpoint STEP)
MAX_IMAGES = LIMITS["eval_num"]  # generated or scored by one call
MAX_GENERATED_BYTES = 2**31  # uint8 images `latent.generate` holds at once
MAX_GRID_IMAGES = 4096  # tiled into one picture: 64 x 64
MAX_EVAL_BATCH = 1024  # InceptionV3 takes 1 MiB per image at 299 px
MAX_VARIATIONS = 64  # arithmetic: jittered copies, one row of the figure
MAX_NOISE = 10.0  # arithmetic: half-width of the jitter of N(0, 1) latents
MAX_GROUPS = 16  # arithmetic: groups of latents, one row each
MAX_GROUP_SIZE = 64  # arithmetic: latents averaged in one group
MAX_NEAREST = 256  # nearest: samples, each beside its neighbours
MAX_NEIGHBOURS = 16
MAX_CLASSIFIER_EPOCHS = 10_000


def check_int(
    value: Any, minimum: int, maximum: int, name: str = "", error: type = ValueError
) -> int:
    """Returns `value` if it is an integer in [minimum, maximum].

    Args:
        value: The value to check (bools are refused).
        minimum: Smallest allowed value.
        maximum: Largest allowed value.
        name: The flag or argument, to start the message with.
        error: The exception type raised.

    Returns:
        `value` as an `int`.

    Raises:
        error: Not an integer, or out of range; the message gives the range.

    Example:
        >>> check_int(8, 1, 64, "--variations")
        8
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not minimum <= value <= maximum
    ):
        raise error(
            f"{_prefix(name)}{value!r}: use an integer from {minimum} to {maximum}."
        )
    return int(value)


def check_float(
    value: Any, minimum: float, maximum: float, name: str = "", error: type = ValueError
) -> float:
    """Returns `value` if it is a finite number in [minimum, maximum].

    Args:
        value: The value to check (NaN, infinities and bools are refused).
        minimum: Smallest allowed value.
        maximum: Largest allowed value.
        name: The flag or argument, to start the message with.
        error: The exception type raised.

    Returns:
        `value` as a `float`.

    Raises:
        error: Not a finite number, or out of range.

    Example:
        >>> check_float(0.25, 0.0, 10.0, "--noise")
        0.25
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        raise error(
            f"{_prefix(name)}{value!r}: use a finite number from "
            f"{minimum} to {maximum}."
        )
    return float(value)


def _prefix(name: str) -> str:
    return f"{name} " if name else ""
