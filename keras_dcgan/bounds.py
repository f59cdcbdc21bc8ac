"""Every bound: the counts, sizes, seeds and ranges a command, a function
or a `DCGANConfig` field accepts, and the one way each is checked.

The CLI's flags (parsed before TensorFlow is imported), `DCGANConfig`'s
validation and the library's own checks read the same values here, and
refuse with the same words. Beyond them a typo would exhaust memory, wrap
an int32 or draw a picture nobody can read; a real need for more is better
met by several calls. Free of TensorFlow, and below `config`: it imports
nothing of the package.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

IMAGE_SIZES = (28, 32, 64, 128)
MAX_SEED = 2**31 - 1  # every seed: DCGANConfig.seed, every --seed and seed=
MAX_IMAGES = 100_000  # generated or scored by one call
MAX_LATENT_DIM = 4096

# Upper bounds of DCGANConfig's integer fields: beyond them a typo would
# allocate absurd models or memory, wrap an int32, or wait for ever.
LIMITS = {
    "latent_dim": MAX_LATENT_DIM,
    "generator_width": 1024,
    "discriminator_width": 1024,
    "batch_size": 8192,
    "epochs": 10**6,
    "max_checkpoints": 1000,
    "log_every": 10**9,
    "num_samples": 1024,
    "max_image_pixels": 2**32,
    "eval_num": MAX_IMAGES,
    "steps": 10**9,
    "checkpoint_every": 10**9,
    "collapse_patience": 10**9,
    "eval_every": 10**9,
    "seed": MAX_SEED,
    # A crop wider than an image's short side keeps that side; no image
    # within the largest max_image_pixels (2^32) has a short side above 2^16.
    "center_crop": 2**16,
}
# Lower bounds of the integer fields (1 unless listed).
MINIMA = {
    "eval_num": 2,
    "checkpoint_every": 0,
    "collapse_patience": 0,
    "eval_every": 0,
    "seed": 0,
    "center_crop": 8,  # data.preprocess.MIN_SOURCE_SIDE
}
# Ranges of the real-valued fields: (low, high, high excluded). The low end
# is included, but for the learning rates, which must be positive.
RANGES = {
    "checkpoint_minutes": (0.0, 1e6, False),
    "max_bad_fraction": (0.0, 1.0, False),
    "dropout": (0.0, 1.0, True),
    "label_smoothing": (0.0, 0.5, False),
    "ema": (0.0, 1.0, True),
    "beta_1": (0.0, 1.0, True),
    # Far above any useful rate (2e-4 is the paper's), yet finite in the
    # optimizers' float32: a huge rate gives NaN losses, stopped by the
    # run's finite guard, not an infinite one.
    "learning_rate": (0.0, 1e12, False),
    "discriminator_learning_rate": (0.0, 1e12, False),
}
LOW_EXCLUDED = ("learning_rate", "discriminator_learning_rate")
# config.json is a few hundred bytes; a larger file is not one.
MAX_CONFIG_BYTES = 2**20

MAX_INT32 = 2**31 - 1  # export: batch sizes are int32 in the graph
MAX_VERSION = 2**63 - 1  # TF Serving reads version folders as int64
MAX_STEP = 2**63 - 1  # a run's step counter is an int64 (--checkpoint STEP)
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
MAX_CLASSES = 10_000  # a classifier's classes (ImageNet has 1,000)
MAX_CLASSIFIER_SIDE = 512  # a classifier's image side
MAX_EPOCH = 10**9  # an epoch index (a run's epochs are at most 10^6)
MAX_BATCH = 2**20  # images or vectors of one forward pass, or one step
MAX_SUBSETS = 1000  # KID: subsets averaged (its reference: 100)
MAX_KID_SUBSET = 4096  # KID: rows per subset; 3 kernels of 4096^2 floats
MAX_FEATURES = 4096  # metrics: features per image (Inception's: 2,048)
MAX_NEIGHBOURS_PR = 100  # precision/recall: the k-th neighbour's radius
MAX_SEEDS = 1_000_000  # sample --seeds: one PNG each, 50k for an FID


def check_int(
    value: Any, minimum: int, maximum: int, name: str = "", error: type = ValueError
) -> int:
    """Returns `value` if it is an integer in [minimum, maximum].

    Args:
        value: The value to check (bools are refused).
        minimum: Smallest allowed value.
        maximum: Largest allowed value.
        name: The parameter (or a phrase), to start the message with.
        error: The exception type raised.

    Returns:
        `value` as an `int`.

    Raises:
        error: Not an integer, or out of range; the message gives the range.

    Example:
        >>> check_int(8, 1, 64, "num_variations")
        8
    """
    return int(_check_number(value, numbers.Integral, minimum, maximum, name, error))


def check_float(
    value: Any,
    minimum: float,
    maximum: float,
    name: str = "",
    error: type = ValueError,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Returns `value` if it is a finite number in [minimum, maximum].

    Args:
        value: The value to check (NaN, infinities and bools are refused).
        minimum: Smallest allowed value.
        maximum: Largest allowed value.
        name: The parameter (or a phrase), to start the message with.
        error: The exception type raised.
        low_open: `minimum` itself is refused (a learning rate of 0).
        high_open: `maximum` itself is refused (a dropout of 1).

    Returns:
        `value` as a `float`.

    Raises:
        error: Not a finite number, or out of range; the message gives
            the range.

    Example:
        >>> check_float(0.25, 0.0, 10.0, "noise")
        0.25
    """
    return float(
        _check_number(
            value, numbers.Real, minimum, maximum, name, error, low_open, high_open
        )
    )


def _check_number(
    value: Any,
    kind: type,
    minimum: float,
    maximum: float,
    name: str,
    error: type,
    low_open: bool = False,
    high_open: bool = False,
) -> Any:
    """`value` if it is a `kind` (a bool is not) within the bounds; else
    `error`, one line: the name, the value and the range to use."""
    if (
        isinstance(value, bool)
        or not isinstance(value, kind)
        # The bounds before isfinite: 10**400 overflows a float.
        or not (minimum < value if low_open else minimum <= value)
        or not (value < maximum if high_open else value <= maximum)
        or not (isinstance(value, numbers.Integral) or math.isfinite(value))
    ):
        noun = "an integer" if kind is numbers.Integral else "a finite number"
        span = f"from {_bound(minimum)} to {_bound(maximum)}"
        excluded = [
            _bound(b) for b, o in ((minimum, low_open), (maximum, high_open)) if o
        ]
        if excluded:
            span += f" ({' and '.join(excluded)} excluded)"
        raise error(f"{_prefix(name)}{shown(value)}: use {noun} {span}.")
    return value


def _bound(bound: float) -> str:
    """10 -> "10", 0.5 -> "0.5", 1e12 -> "1e+12": a bound as a message
    shows it (an integer in full: a user types it)."""
    if isinstance(bound, numbers.Integral) or abs(bound) < 1e6:
        return str(bound)
    return f"{bound:g}"


def check_choice(
    value: Any, choices: Sequence, name: str = "", error: type = ValueError
) -> Any:
    """Returns `value` if it is one of `choices` (and of the same type:
    1 is not "1", True is not 1).

    Example:
        >>> check_choice("slerp", ("slerp", "lerp"), "method")
        'slerp'
    """
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return value
        if isinstance(choice, str) and isinstance(value, str) and value == choice:
            return choice  # a str subclass, e.g. np.str_
    listed = ", ".join(repr(c) if not isinstance(c, str) else c for c in choices)
    raise error(f"{_prefix(name)}{shown(value)}: use one of {listed}.")


def check_bool(value: Any, name: str = "", error: type = ValueError) -> bool:
    """Returns `value` as a bool if it is one (`np.bool_` too), not 0 or 1."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise error(f"{_prefix(name)}{shown(value)}: use True or False.")


def check_path(value: Any, name: str = "", error: type = ValueError) -> str:
    """Returns a file or folder name given as `str` or `os.PathLike`, as a
    `str`; None, numbers, bytes, "" and names with a NUL are refused.

    Example:
        >>> check_path(pathlib.Path("runs/a"), "output_dir")
        'runs/a'
    """
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str) or not path or "\0" in path:
        raise error(
            f"{_prefix(name)}{shown(value)}: give a file or folder name "
            "(a non-empty str or pathlib.Path)."
        )
    return path


def check_image_size(value: Any, name: str = "image_size", error: type = ValueError):
    """Returns `value` as an int if it is one of the image sides a DCGAN has
    (`IMAGE_SIZES`; np.int64(28) is 28, 28.0 is refused)."""
    return _check_member(value, IMAGE_SIZES, name, error)


def check_channels(value: Any, name: str = "channels", error: type = ValueError):
    """Returns `value` as an int if it is 1 (grayscale) or 3 (RGB)."""
    return _check_member(value, (1, 3), name, error)


def _check_member(value: Any, allowed: tuple, name: str, error: type) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if int(value) in allowed:
            return int(value)
    listed = ", ".join(map(str, allowed))
    raise error(f"{_prefix(name)}{shown(value)}: use one of {listed}.")


def finite_array(
    value: Any,
    name: str,
    error: type = ValueError,
    ndim: int | None = None,
    max_elements: int = 2**31,
    dtype=np.float32,
) -> np.ndarray:
    """`value` as a finite `dtype` array, checked before it is used.

    Args:
        value: An array or nested sequences of numbers.
        name: The argument, for messages.
        error: The exception type raised.
        ndim: The rank it must have (None: any).
        max_elements: The most values it may hold.
        dtype: What it is converted to; a value beyond its range (1e300
            for float32) counts as infinite.

    Raises:
        error: Not numbers, of another rank, too large, or holding NaN or
            infinite values.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise error(f"{name}: {shown(value)} is not an array of numbers.")
    size = getattr(value, "size", None)
    if isinstance(size, int) and size > max_elements:
        raise error(
            f"{name}: {size} values, above the {max_elements} one call takes; split it."
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as e:  # ragged, huge ints
        raise error(
            f"{name}: not an array of numbers ({str(e).splitlines()[0][:80]})."
        ) from e
    if array.dtype.kind not in "biuf":  # text, objects, complex, dates
        raise error(f"{name}: an array of {array.dtype}, not of real numbers.")
    with np.errstate(over="ignore", invalid="ignore"):
        array = array.astype(dtype, copy=False)
    if ndim is not None and array.ndim != ndim:
        raise error(f"{name}: shape {array.shape}, expected {ndim} dimensions.")
    if array.size > max_elements:
        raise error(
            f"{name}: {array.size} values, above the {max_elements} one call "
            "takes; split it."
        )
    if not np.isfinite(array).all():
        raise error(
            f"{name} holds NaN or infinite values (or values beyond "
            f"{np.dtype(dtype).name}); give finite numbers."
        )
    return array


def shown(value: Any) -> str:
    """The value as a message shows it: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _prefix(name: str) -> str:
    """How a refusal starts: a parameter as the caller wrote it with its
    value (`latent_dim=0`; the CLI writes it as its flag, `--latent-dim 0`),
    a phrase (`the number of seeds`) or a flag (the CLI's own) before it."""
    if not name:
        return ""
    return f"{name}=" if name.isidentifier() else f"{name} "


def network_parameters(config) -> tuple:
    """(generator, discriminator) weights of `config`'s networks, counted
    from the flags without building them: the convolution and dense
    kernels of the "dcgan" preset, which the other presets match or
    exceed (BatchNorm and biases, a few per mille, are left out).

    Example:
        >>> network_parameters(DCGANConfig(image_size=64))  # about 3.6 M, 2.8 M
    """
    base = 7 if config.image_size == 28 else 4
    steps = int(math.log2(config.image_size // base))
    top = config.generator_width * 2 ** (steps - 1)  # G's widest map
    widths = [top // 2**i for i in range(steps)] + [config.channels]
    generator = config.latent_dim * base * base * top + sum(
        16 * a * b for a, b in zip(widths, widths[1:])
    )
    widths = [config.channels] + [
        config.discriminator_width * 2**i for i in range(steps)
    ]
    discriminator = sum(16 * a * b for a, b in zip(widths, widths[1:]))
    return generator, discriminator + base * base * widths[-1]


def activations_per_image(config) -> int:
    """Values the layers of G and D hold for one image of a training step:
    each block's map after its convolution, BatchNorm and activation."""
    base = 7 if config.image_size == 28 else 4
    steps = int(math.log2(config.image_size // base))
    top = config.generator_width * 2 ** (steps - 1)
    generator = sum(3 * (base * 2**i) ** 2 * (top // 2**i) for i in range(steps))
    side = config.image_size
    discriminator = sum(
        3 * (side // 2**i) ** 2 * config.discriminator_width * 2 ** (i - 1)
        for i in range(1, steps + 1)
    )
    return generator + discriminator + 3 * side * side * config.channels


def training_memory_bytes(config) -> int:
    """Memory that training `config` needs at least, from its flags alone.

    float32 weights of G and D, each with its gradient and Adam's two
    moments (four copies; five for G with `ema`), the activations of one
    batch, and the per-epoch sample grid's latents and images. A lower
    bound: TensorFlow's own buffers and the data come on top.

    Example:
        >>> training_memory_bytes(DCGANConfig()) / 2**20  # about 460 MiB
    """
    generator, discriminator = network_parameters(config)
    copies = 4 * (generator + discriminator) + (generator if config.ema else 0)
    batch = config.batch_size * activations_per_image(config)
    samples = config.num_samples * (
        config.latent_dim + config.image_size**2 * config.channels
    )
    return 4 * (copies + batch + samples)


# The parameters that size training's memory, named in a refusal.
MEMORY_FLAGS = (
    "batch_size",
    "image_size",
    "generator_width",
    "discriminator_width",
    "latent_dim",
    "channels",
    "num_samples",
)


def check_training_memory(config, available: int, error: type = ValueError) -> int:
    """Refuses, before anything is built, a config whose training cannot fit
    in `available` bytes (`training_memory_bytes`); returns what it needs.

    Raises:
        error: One line: the estimate, what is available, and the flags
            that set it, with their values.
    """
    needed = training_memory_bytes(config)
    if needed > available:
        flags = ", ".join(f"{name}={getattr(config, name)}" for name in MEMORY_FLAGS)
        raise error(
            f"Training these networks needs at least {needed / 2**30:,.1f} GiB "
            f"(weights, gradients and Adam's moments of G and D, one batch's "
            f"activations), more than the {available / 2**30:,.1f} GiB this "
            f"process can allocate; lower some of {flags}."
        )
    return needed
