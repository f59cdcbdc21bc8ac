"""The one configuration object behind models, training and the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from keras_dcgan.atomic import write_text
from keras_dcgan.errors import ConfigError

IMAGE_SIZES = (28, 32, 64, 128)
# Network presets (keras_dcgan.networks): the paper's, the classic Keras
# tutorials', and the paper's all-convolutional one of PyTorch's reference.
ARCHITECTURES = ("dcgan", "keras-tutorial", "dcgan-conv")
FROZEN_BN_STATS = ("batch", "moving")
EVAL_METRICS = ("fid", "kid", "is", "precision", "recall")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "on", "off")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")

# Upper bounds: beyond them a typo would allocate absurd models or memory.
LIMITS = {
    "latent_dim": 4096,
    "generator_width": 1024,
    "discriminator_width": 1024,
    "batch_size": 8192,
    "epochs": 10**6,
    "max_checkpoints": 1000,
    "log_every": 10**9,
    "num_samples": 1024,
    "max_image_pixels": 2**32,
    "eval_num": 100_000,
}
# Ranges of the real-valued fields: (low, high, high excluded).
RANGES = {
    "checkpoint_minutes": (0.0, 1e6, False),
    "max_bad_fraction": (0.0, 1.0, False),
    "dropout": (0.0, 1.0, True),
    "label_smoothing": (0.0, 0.5, False),
    "ema": (0.0, 1.0, True),
    "beta_1": (0.0, 1.0, True),
}
# config.json is a few hundred bytes; a larger file is not one.
MAX_CONFIG_BYTES = 2**20

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
        architecture: The networks' layer pattern: "dcgan" (the paper's,
            with a Dense projection and classifier), "keras-tutorial" (the
            classic Keras GAN tutorials': LeakyReLU and BatchNorm after it,
            a last stride-1 Conv2D) or "dcgan-conv" (the paper's
            all-convolutional networks of PyTorch's reference code, no
            Dense). See `keras_dcgan.networks`.
        learning_rate: Adam learning rate of both networks.
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
    architecture: str = "dcgan"
    learning_rate: float = 2e-4
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
        """Raises `ConfigError` naming the first invalid field and the fix."""
        if self.image_size not in IMAGE_SIZES:
            raise ConfigError(
                f"image_size={self.image_size} is not supported; use one of "
                f"{', '.join(map(str, IMAGE_SIZES))} (--image-size)."
            )
        if self.channels not in (1, 3):
            raise ConfigError(
                f"channels={self.channels} is not supported; use 1 for "
                "grayscale or 3 for RGB (--channels)."
            )
        for name, choices in (
            ("architecture", ARCHITECTURES),
            ("precision", PRECISIONS),
            ("jit_compile", JIT_COMPILE),
            ("strategy", STRATEGIES),
        ):
            if getattr(self, name) not in choices:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} is not supported; use "
                    f"one of {', '.join(choices)} ({flag})."
                )
        if self.frozen_bn_stats not in FROZEN_BN_STATS:
            raise ConfigError(
                f"frozen_bn_stats={self.frozen_bn_stats!r} is not supported; "
                f"use one of {FROZEN_BN_STATS} (--frozen-bn-stats)."
            )
        self._validate_eval()  # first: eval_num's minimum is 2, not 1
        for name, maximum in LIMITS.items():
            _check_int(name, getattr(self, name), minimum=1, maximum=maximum)
        if self.steps is not None:
            _check_int("steps", self.steps, minimum=1, maximum=10**9)
        _check_int("checkpoint_every", self.checkpoint_every, minimum=0)
        _check_range("checkpoint_minutes", self.checkpoint_minutes)
        if self.center_crop is not None:
            _check_int("center_crop", self.center_crop, minimum=8)
        _check_range("max_bad_fraction", self.max_bad_fraction)
        _check_int("collapse_patience", self.collapse_patience, minimum=0)
        if not isinstance(self.stop_on_collapse, bool):
            raise ConfigError(
                f"stop_on_collapse={self.stop_on_collapse!r} "
                "must be true or false (--stop-on-collapse)."
            )
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=0, maximum=2**31 - 1)
        _check_range("dropout", self.dropout)
        _check_range("label_smoothing", self.label_smoothing)
        _check_range("ema", self.ema)
        _check_range("beta_1", self.beta_1)
        if not (
            _is_number(self.learning_rate)
            and self.learning_rate > 0
            and self.learning_rate < float("inf")
        ):
            raise ConfigError(
                f"learning_rate={self.learning_rate!r} must be a positive "
                "finite number, e.g. 2e-4 (--learning-rate)."
            )

    def _validate_eval(self) -> None:
        _check_int("eval_every", self.eval_every, minimum=0)
        _check_int("eval_num", self.eval_num, minimum=2)
        if self.eval_metric not in EVAL_METRICS:
            raise ConfigError(
                f"eval_metric={self.eval_metric!r} is not supported; use one "
                f"of {', '.join(EVAL_METRICS)} (--eval-metric)."
            )
        if self.eval_every and not self.eval_features:
            raise ConfigError(
                "eval_every needs eval_features: pass --eval-features "
                "classifier:PATH (see train-classifier) or inception."
            )

    def network_fields(self) -> dict:
        """The fields that fix the networks (`ARCHITECTURE_FIELDS`), as a dict."""
        return {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}

    def to_json(self, path: str) -> None:
        """Writes the config as JSON (atomically: temp file, then rename)."""
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
        return cls.from_dict(_read_json_object(path), source=path)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> DCGANConfig:
        """Builds a config from a dict, refusing unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"{source} has unknown keys {unknown}; known keys are {sorted(names)}."
            )
        try:
            return cls(**values)
        except ConfigError as e:  # say which file holds the bad value
            raise ConfigError(f"{source}: {e}") from e


def _read_json_object(path: str) -> dict:
    """The JSON object in `path`, read no further than `MAX_CONFIG_BYTES`."""
    fix = (
        "keras-dcgan train writes it; restore it from a backup, or start "
        "a new run in another --output-dir."
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
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    flag = "--" + name.replace("_", "-")
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name}={value!r} must be an integer >= {minimum} ({flag}).")
    if maximum is not None and value > maximum:
        raise ConfigError(
            f"{name}={value!r} is larger than the {maximum} this tool accepts ({flag})."
        )


def _check_range(name: str, value: Any) -> None:
    low, high, high_open = RANGES[name]
    ok = (
        _is_number(value)
        and low <= value
        and (value < high if high_open else value <= high)
    )
    if not ok:
        flag = "--" + name.replace("_", "-")
        bracket = ")" if high_open else "]"
        raise ConfigError(
            f"{name}={value!r} must be a number in [{low}, {high}{bracket} ({flag})."
        )
