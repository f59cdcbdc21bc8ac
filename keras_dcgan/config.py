"""The one configuration object behind models, training and the CLI."""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
from typing import Any

from keras_dcgan.atomic import write_text
from keras_dcgan.bounds import (
    IMAGE_SIZES,
    LIMITS,
    LOW_EXCLUDED,
    MAX_CONFIG_BYTES,
    MINIMA,
    RANGES,
    check_float,
    check_int,
    shown,
)
from keras_dcgan.errors import ConfigError

# Network presets (keras_dcgan.networks): the paper's, the classic Keras
# tutorials', and the paper's all-convolutional one of PyTorch's reference.
ARCHITECTURES = ("dcgan", "keras-tutorial", "dcgan-conv")
FROZEN_BN_STATS = ("batch", "moving")
# D's update per step: an Adam step per batch (two `train_on_batch` calls,
# the Keras recipe) or one on both batches' summed gradients (PyTorch's).
DISCRIMINATOR_UPDATES = ("separate", "summed")
DISCRIMINATOR_NORMS = ("batch", "spectral")
# The layer choices where the "keras-tutorial" preset differs from the
# paper's, one at a time, for "dcgan" and "dcgan-conv"; the first value of
# each is the paper's (keras_dcgan.networks.blocks).
GENERATOR_ACTIVATIONS = ("relu", "leaky_relu")
BATCH_NORM_POSITIONS = ("before", "after")
GENERATOR_OUTPUTS = ("transpose", "conv")
LAYER_OPTIONS = {
    "generator_activation": GENERATOR_ACTIVATIONS,
    "batch_norm_position": BATCH_NORM_POSITIONS,
    "generator_output": GENERATOR_OUTPUTS,
}
# DiffAugment's transformations of D's inputs (keras_dcgan.networks.augment),
# in the order they are applied.
AUGMENTATIONS = ("color", "translation", "cutout")
EVAL_METRICS = ("fid", "kid", "is", "precision", "recall")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")

# Fields that may be None: steps (epochs decide), seed (random),
# center_crop (the whole short side), discriminator_learning_rate (the
# generator's).
OPTIONAL = ("steps", "seed", "center_crop", "discriminator_learning_rate")
# Fields that decide the shape of the networks: a run can only be resumed
# (or a checkpoint restored) with the same values.
ARCHITECTURE_FIELDS = (
    "architecture",
    "image_size",
    "channels",
    "latent_dim",
    "generator_width",
    "discriminator_width",
    "dropout",
    "augment",
    "discriminator_norm",
    "generator_activation",
    "batch_norm_position",
    "generator_output",
    "precision",
)


@dataclasses.dataclass
class DCGANConfig:
    """Hyperparameters of a DCGAN run.

    Defaults follow Radford et al. (2015): latent size 100, widths 64,
    Adam(2e-4, beta_1=0.5), batch 128.

    Attributes:
        image_size: Side of the square images: 28, 32, 64 or 128.
        channels: 1 (grayscale) or 3 (RGB).
        latent_dim: Size of the noise vector z ("nz" in the paper's code).
        generator_width: Channels of the generator's last hidden layer
            ("ngf"); earlier layers double it.
        discriminator_width: Channels of the discriminator's first layer
            ("ndf"); later layers double it.
        dropout: Dropout rate before the discriminator's classifier (0: none).
        augment: Differentiable augmentation (DiffAugment) of the
            discriminator's inputs, real and fake alike: "none", or a
            comma-separated list of "color", "translation" and "cutout".
            From Zhao et al. (2020); see `keras_dcgan.networks.augment`.
        discriminator_norm: How the discriminator is normalized: "batch"
            (BatchNorm on all but the first layer, the paper's) or
            "spectral" (each Conv2D and Dense over its largest singular
            value, no BatchNorm; Miyato et al. 2018). See
            `keras_dcgan.networks.spectral`.
        generator_activation: The generator's hidden activation: "relu"
            (the paper's) or "leaky_relu" (slope 0.2, as the classic Keras
            tutorials). Presets "dcgan" and "dcgan-conv".
        batch_norm_position: Where BatchNorm sits in both networks'
            blocks: "before" the activation (the paper's; the layer before
            it has no bias) or "after" it (the classic Keras tutorials').
            Presets "dcgan" and "dcgan-conv".
        generator_output: The generator's last layers: "transpose" (a
            stride-2 Conv2DTranspose to the channels, the paper's) or
            "conv" (that Conv2DTranspose keeps `generator_width` channels,
            with BatchNorm and the activation, then a stride-1 3x3 Conv2D
            to the channels, as the classic Keras tutorials). Presets
            "dcgan" and "dcgan-conv".
        architecture: The networks' layer pattern: "dcgan" (the paper's,
            with a Dense projection and classifier), "keras-tutorial" (the
            classic Keras GAN tutorials': LeakyReLU and BatchNorm after it,
            a last stride-1 Conv2D) or "dcgan-conv" (the paper's
            all-convolutional networks of PyTorch's reference code, no
            Dense). See `keras_dcgan.networks`.
        learning_rate: Adam learning rate of the generator, and of the
            discriminator unless `discriminator_learning_rate` is set.
        discriminator_learning_rate: Adam learning rate of the
            discriminator; one unlike the generator's is the two-time-scale
            update rule (TTUR). None: `learning_rate`.
        discriminator_update: How D learns from a step's real and fake
            batches: "separate" (an Adam step on each, real then fake: two
            `train_on_batch` calls, the classic Keras recipe) or "summed"
            (one Adam step on the sum of both batches' gradients, each
            batch with its own BatchNorm statistics: the PyTorch
            reference's step, pytorch/examples dcgan/main.py).
        beta_1: Adam beta_1 of both networks.
        label_smoothing: One-sided label smoothing: the discriminator's target
            for real images is `1 - label_smoothing`; fakes stay at 0.
        frozen_bn_stats: What the discriminator's BatchNorm uses while the
            generator trains through it: "batch" (batch statistics, as the
            PyTorch reference) or "moving" (moving averages, Keras' default
            for a frozen layer). See README, "The frozen discriminator".
        ema: Decay of an average of the generator's weights, the one
            sampled, evaluated and exported (0: off). The decay of the
            n-th update is min(ema, (1 + n) / (10 + n)): the average spans
            about the last n / 9 steps until 1 / (1 - ema) of them (1,000
            for 0.999, from step 9,000 on). The average is
            updated after every step and trains nothing: G and D learn as
            without it; `load_generator(..., generator="raw")` and
            `--generator raw` read the raw G.
        batch_size: Images per training step.
        epochs: Passes over the data (ignored when `steps` is set).
        steps: Total training steps; overrides `epochs` when set.
        seed: Seed of weights, noise and data order (None: random).
        checkpoint_every: Steps between checkpoints (0: by time, see
            `checkpoint_minutes`).
        checkpoint_minutes: With `checkpoint_every` 0, the least time
            between two checkpoints: one is saved at the first step at
            least this many minutes after the previous (0: every step).
            Always at the end, and at once on SIGINT/SIGTERM.
        max_checkpoints: Checkpoints kept on disk.
        log_every: Steps between rows of `history.csv`.
        num_samples: Images in the sample grid written after each epoch.
        center_crop: Side in source pixels of the centered square kept
            before resizing (None: the whole short side; 108 is the usual
            CelebA face crop).
        max_bad_fraction: Image folders: the largest share of unusable
            files that is skipped (and reported) instead of refused.
        max_image_pixels: Image folders: files whose header declares more
            pixels (width x height) are skipped unread, so a small file
            cannot decode into gigabytes.
        collapse_patience: Steps that "D wins outright" (D loss < 0.01) or
            mode collapse (diversity < 0.1) must last to be flagged in the
            log and history (0: never).
        stop_on_collapse: Stop (with everything saved) when flagged.
        eval_every: Steps between quality evaluations (0: none); the best
            checkpoint by `eval_metric` is kept in `checkpoints/best/`.
        eval_features: Feature extractor of those evaluations:
            "inception" or "classifier:PATH".
        eval_metric: "fid", "kid", "is", "precision" or "recall".
        eval_num: Generated (and real) images per evaluation.
        precision: "auto" (mixed_bfloat16 where the device computes bf16
            natively and it measured faster, else float32; see
            `keras_dcgan.devices.precision`; a run records what it
            resolved to), "float32", or a mixed policy: "mixed_float16"
            (with loss scaling) or "mixed_bfloat16". Weights stay float32;
            the generator's tanh and the discriminator's output run in
            float32.
        jit_compile: XLA for the training step: "on", "off", or "auto"
            (where it measured faster: on GPUs; on CPUs only where
            TensorFlow runs without oneDNN, see `keras_dcgan.devices.kernels`).
        strategy: `tf.distribute` strategy of training: "auto",
            "one_device", "mirrored", "multi_worker" or "tpu" (see
            `keras_dcgan.devices.distribute.make_strategy`); `batch_size` is the
            global batch, split across the replicas.
    """

    image_size: int = 64
    channels: int = 3
    latent_dim: int = 100
    generator_width: int = 64
    discriminator_width: int = 64
    dropout: float = 0.0
    augment: str = "none"
    discriminator_norm: str = "batch"
    generator_activation: str = "relu"
    batch_norm_position: str = "before"
    generator_output: str = "transpose"
    architecture: str = "dcgan"
    learning_rate: float = 2e-4
    discriminator_learning_rate: float | None = None
    discriminator_update: str = "separate"
    beta_1: float = 0.5
    label_smoothing: float = 0.0
    frozen_bn_stats: str = "batch"
    ema: float = 0.0
    batch_size: int = 128
    epochs: int = 5
    steps: int | None = None
    seed: int | None = 0
    checkpoint_every: int = 0
    checkpoint_minutes: float = 5.0
    max_checkpoints: int = 3
    log_every: int = 1
    num_samples: int = 64
    center_crop: int | None = None
    max_bad_fraction: float = 0.1
    max_image_pixels: int = 178_956_970  # Pillow's own refusal threshold
    collapse_patience: int = 200
    stop_on_collapse: bool = False
    eval_every: int = 0
    eval_features: str | None = None
    eval_metric: str = "fid"
    eval_num: int = 2000
    precision: str = "auto"
    jit_compile: str = "auto"
    strategy: str = "auto"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raises `ConfigError` naming the first invalid field and the fix.

        Types are strict and the same from Python and from `config.json`:
        an integer field takes an integer (not 28.0, not a bool), a real
        field any finite number, a text field text. NumPy scalars are the
        numbers they are: `np.int64(16)` is stored as the int 16,
        `np.float32(0.5)` as the float 0.5. Every number has a range
        (`keras_dcgan.bounds`: `LIMITS`, `MINIMA`, `RANGES`).
        """
        self._normalize()
        for name, choices in (("image_size", IMAGE_SIZES), ("channels", (1, 3))):
            value = getattr(self, name)
            if not _is_int(value) or value not in choices:
                raise ConfigError(
                    f"{name}={shown(value)} is not supported; use "
                    + ("" if _is_int(value) else "an integer, ")
                    + (
                        f"one of {', '.join(map(str, IMAGE_SIZES))}"
                        if name == "image_size"
                        else "1 for grayscale or 3 for RGB"
                    )
                    + "."
                )
        for name, choices in (
            ("architecture", ARCHITECTURES),
            ("precision", PRECISIONS),
            ("jit_compile", JIT_COMPILE),
            ("strategy", STRATEGIES),
            ("frozen_bn_stats", FROZEN_BN_STATS),
            ("discriminator_update", DISCRIMINATOR_UPDATES),
            ("discriminator_norm", DISCRIMINATOR_NORMS),
            *LAYER_OPTIONS.items(),
            ("eval_metric", EVAL_METRICS),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise ConfigError(
                    f"{name}={shown(value)} is not supported; use "
                    f"one of {', '.join(choices)}."
                )
        for name, maximum in LIMITS.items():
            value = getattr(self, name)
            if value is not None or name not in OPTIONAL:
                check_int(value, MINIMA.get(name, 1), maximum, name, ConfigError)
        for name, (low, high, high_open) in RANGES.items():
            if getattr(self, name) is None and name in OPTIONAL:
                continue
            check_float(
                getattr(self, name),
                low,
                high,
                name,
                ConfigError,
                low_open=name in LOW_EXCLUDED,
                high_open=high_open,
            )
        if not isinstance(self.stop_on_collapse, bool):
            raise ConfigError(
                f"stop_on_collapse={shown(self.stop_on_collapse)} "
                "must be True or False."
            )
        self._validate_eval_features()
        self.augment = _augment_policy(self.augment)
        self._validate_layer_options()

    def _validate_layer_options(self) -> None:
        """The layer options change the paper's presets; "keras-tutorial"
        has its own layers (all three of them the non-default choice)."""
        if self.architecture != "keras-tutorial":
            return
        for name, choices in LAYER_OPTIONS.items():
            if getattr(self, name) != choices[0]:
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} applies to the dcgan "
                    "and dcgan-conv presets; architecture='keras-tutorial' "
                    f"has its own layers: leave {name}= at {choices[0]!r}."
                )

    def _normalize(self) -> None:
        """NumPy scalars as Python's; real fields as floats (0 -> 0.0)."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
                value = value.item()  # np.int64 -> int, np.float32 -> float
            if field.name in RANGES and _is_number(value):
                try:
                    value = float(value)
                except OverflowError:  # an int beyond float: out of range
                    pass
            setattr(self, field.name, value)

    def _validate_eval_features(self) -> None:
        spec = self.eval_features
        if spec is not None and not (
            isinstance(spec, str)
            and (spec == "inception" or spec.startswith("classifier:"))
            and spec != "classifier:"
        ):
            raise ConfigError(
                f"eval_features={shown(spec)} is not supported; use inception or "
                "classifier:PATH."
            )
        if self.eval_every and not spec:
            raise ConfigError(
                f"eval_every={self.eval_every} needs eval_features=: pass "
                "eval_features=classifier:PATH (see train_classifier) or "
                "eval_features=inception."
            )

    def network_fields(self) -> dict:
        """The fields that fix the networks (`ARCHITECTURE_FIELDS`), as a dict."""
        return {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}

    def to_json(self, path: str) -> None:
        """Writes the config as JSON (atomically: temp file, then rename).

        Raises:
            ConfigError: A field changed since the config was made is
                invalid, or `path` is not a file name.
        """
        self.validate()  # fields set after __init__, NumPy scalars
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ConfigError(
                f"config file {shown(path)}: give a file name (str or pathlib.Path)."
            )
        write_text(
            path, json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"
        )

    @classmethod
    def from_json(cls, path: str) -> DCGANConfig:
        """Reads a config written by `to_json`; unknown keys are an error.

        Raises:
            ConfigError: `path` is not a regular file, is larger than
                `MAX_CONFIG_BYTES`, is not a JSON object or holds unknown
                keys or invalid values; the message names the file and
                the fix.
        """
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ConfigError(
                f"config file {shown(path)}: give a file name (str or pathlib.Path)."
            )
        return cls.from_dict(_read_json_object(os.fspath(path)), source=path)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> DCGANConfig:
        """Builds a config from a dict, refusing unknown keys."""
        if not isinstance(values, dict):
            raise ConfigError(
                f"{source}: a {type(values).__name__}, not a dict of config values."
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(values) - names)
        if unknown:
            raise ConfigError(
                f"{source} has unknown keys {unknown}; known keys are {sorted(names)}."
            )
        try:
            return cls(**values)
        except ConfigError as e:  # say which file holds the bad value
            error = ConfigError(f"{source}: {e}")
            error.names_keys = True  # its keys, which the CLI keeps as they are
            raise error from e


def _read_json_object(path: str) -> dict:
    """The JSON object in `path`, read no further than `MAX_CONFIG_BYTES`."""
    fix = (
        "keras-dcgan train writes it; restore it from a backup, or start "
        "a new run in another output_dir=."
    )
    if not os.path.isfile(path):  # a FIFO or a device would never end
        raise ConfigError(f"{path} is not a regular file; {fix}")
    with open(path, "rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path} is larger than {MAX_CONFIG_BYTES} bytes, "
            f"which no run config is; {fix}"
        )
    try:
        values = json.loads(raw)
    except (ValueError, RecursionError) as e:  # bad JSON, bytes or nesting
        raise ConfigError(
            f"{path} is not valid JSON ({str(e).splitlines()[0][:200]}); {fix}"
        ) from e
    if not isinstance(values, dict):
        raise ConfigError(
            f"{path} holds a JSON {type(values).__name__}, not "
            f"an object of config values; {fix}"
        )
    return values


def field_help() -> dict:
    """{field: one-line meaning}, read from `DCGANConfig`'s docstring, the
    one place each field is described (the CLI's help is made from it)."""
    lines = (DCGANConfig.__doc__ or "").split("Attributes:", 1)[-1]
    helps, name = {}, None
    for line in lines.splitlines():
        stripped = line.strip()
        head, sep, text = stripped.partition(": ")
        if sep and head.isidentifier() and len(line) - len(stripped) == 8:
            name = head
            helps[name] = text
        elif name and stripped:
            helps[name] += " " + stripped
    return helps


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _augment_policy(policy: Any) -> str:
    """`augment` in its one spelling: "none", or the names in the order
    applied ("cutout,translation" -> "translation,cutout")."""
    if policy == "none":
        return policy
    names = [n.strip() for n in policy.split(",")] if isinstance(policy, str) else []
    if (
        not names
        or not set(names) <= set(AUGMENTATIONS)
        or len(set(names)) < len(names)
    ):
        raise ConfigError(
            f"augment={shown(policy)} is not supported; use none, or a "
            f"comma-separated list of {', '.join(AUGMENTATIONS)}, each at most "
            "once."
        )
    return ",".join(name for name in AUGMENTATIONS if name in names)
