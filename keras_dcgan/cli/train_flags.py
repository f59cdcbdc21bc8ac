"""The flags of `keras-dcgan train` and how they become a `DCGANConfig`.

One table (`CONFIG_FLAGS`) maps each flag to its config field; the help
of each is made from the field's docstring line, its default and its
bounds, so the flags, the config and the docs say the same thing.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from keras_dcgan.bounds import LIMITS, LOW_EXCLUDED, MINIMA, RANGES
from keras_dcgan.config import (
    ARCHITECTURE_FIELDS,
    ARCHITECTURES,
    BATCH_NORM_POSITIONS,
    DISCRIMINATOR_NORMS,
    DISCRIMINATOR_UPDATES,
    GENERATOR_ACTIVATIONS,
    GENERATOR_OUTPUTS,
    JIT_COMPILE,
    PRECISIONS,
    STRATEGIES,
    DCGANConfig,
    field_help,
)

# flag -> DCGANConfig field; aliases keep the names of the PyTorch
# reference (pytorch/examples dcgan/main.py), so its commands carry over.
CONFIG_FLAGS = {
    "--image-size": ("image_size", int, {"aliases": ["--imageSize"]}),
    "--channels": ("channels", int, {}),
    "--latent-dim": ("latent_dim", int, {"aliases": ["--nz"]}),
    "--generator-width": ("generator_width", int, {"aliases": ["--ngf"]}),
    "--discriminator-width": ("discriminator_width", int, {"aliases": ["--ndf"]}),
    "--dropout": ("dropout", float, {}),
    "--augment": ("augment", str, {"metavar": "POLICY"}),
    "--discriminator-norm": (
        "discriminator_norm",
        str,
        {"choices": list(DISCRIMINATOR_NORMS)},
    ),
    "--generator-activation": (
        "generator_activation",
        str,
        {"choices": list(GENERATOR_ACTIVATIONS)},
    ),
    "--batch-norm-position": (
        "batch_norm_position",
        str,
        {"choices": list(BATCH_NORM_POSITIONS)},
    ),
    "--generator-output": (
        "generator_output",
        str,
        {"choices": list(GENERATOR_OUTPUTS)},
    ),
    "--architecture": ("architecture", str, {"choices": list(ARCHITECTURES)}),
    "--learning-rate": ("learning_rate", float, {"aliases": ["--lr"]}),
    "--discriminator-learning-rate": ("discriminator_learning_rate", float, {}),
    "--discriminator-update": (
        "discriminator_update",
        str,
        {"choices": list(DISCRIMINATOR_UPDATES)},
    ),
    "--beta-1": ("beta_1", float, {"aliases": ["--beta1"]}),
    "--label-smoothing": ("label_smoothing", float, {}),
    "--frozen-bn-stats": ("frozen_bn_stats", str, {"choices": ["batch", "moving"]}),
    "--ema": ("ema", float, {"metavar": "DECAY"}),
    "--batch-size": ("batch_size", int, {"aliases": ["--batchSize"]}),
    "--epochs": ("epochs", int, {"aliases": ["--niter"]}),
    "--steps": ("steps", int, {}),
    "--seed": ("seed", int, {"aliases": ["--manualSeed"]}),
    "--checkpoint-every": ("checkpoint_every", int, {}),
    "--checkpoint-minutes": ("checkpoint_minutes", float, {}),
    "--max-checkpoints": ("max_checkpoints", int, {}),
    "--log-every": ("log_every", int, {}),
    "--num-samples": ("num_samples", int, {}),
    "--center-crop": ("center_crop", int, {}),
    "--max-bad-fraction": ("max_bad_fraction", float, {}),
    "--max-image-pixels": ("max_image_pixels", int, {}),
    "--collapse-patience": ("collapse_patience", int, {}),
    "--stop-on-collapse": (
        "stop_on_collapse",
        None,
        {"action": "store_const", "const": True},
    ),
    "--eval-every": ("eval_every", int, {}),
    "--eval-features": ("eval_features", str, {}),
    "--eval-metric": ("eval_metric", str, {}),
    "--eval-num": ("eval_num", int, {}),
    "--precision": ("precision", str, {"choices": list(PRECISIONS)}),
    "--jit-compile": ("jit_compile", str, {"choices": list(JIT_COMPILE)}),
    "--strategy": ("strategy", str, {"choices": list(STRATEGIES)}),
}

# How `train --help` groups the config flags, so that it fits a screen.
# The networks' fields are the ones a resume must keep, less the speed's.
SPEED_FIELDS = ("precision", "jit_compile", "strategy")
GROUPS = {
    "model": tuple(f for f in ARCHITECTURE_FIELDS if f not in SPEED_FIELDS),
    "optimisation": (
        "learning_rate",
        "discriminator_learning_rate",
        "discriminator_update",
        "beta_1",
        "label_smoothing",
        "frozen_bn_stats",
        "ema",
        "batch_size",
        "epochs",
        "steps",
        "seed",
    ),
    "data": ("center_crop", "max_bad_fraction", "max_image_pixels"),
    "run": (
        "checkpoint_every",
        "checkpoint_minutes",
        "max_checkpoints",
        "log_every",
        "num_samples",
        "collapse_patience",
        "stop_on_collapse",
    ),
    "evaluation": ("eval_every", "eval_features", "eval_metric", "eval_num"),
    "speed": SPEED_FIELDS,
}


# What `train --help` shows; `--help-all` shows every flag (by dest).
COMMON = {
    "help",
    "help_all",
    "dataset",
    "data",
    "output_dir",
    "image_size",
    "channels",
    "latent_dim",
    "learning_rate",
    "batch_size",
    "epochs",
    "steps",
    "seed",
    "ema",
    "resume",
    "overwrite",
    "dry_run",
    "verbose",
}
# What a field left unset means, in words (its default is None or off).
UNSET = {
    "steps": "set by --epochs",
    "center_crop": "the whole short side",
    "eval_features": "none; give one with --eval-every",
    "ema": "off",
    "discriminator_learning_rate": "the generator's",
    "stop_on_collapse": "off",
}
EXAMPLES = """examples:
  keras-dcgan train --dataset digits --output-dir runs/digits
  keras-dcgan train --data mnist.npz --output-dir runs/mnist --epochs 25
  keras-dcgan train --data mnist.npz --output-dir runs/mnist --resume
  keras-dcgan train --data faces/ --center-crop 108 --output-dir runs/faces
  keras-dcgan train --data faces/ --outf runs/f --lr 0.0002 --niter 25
      (the PyTorch example's names: --lr --niter --batchSize --imageSize
      --manualSeed --outf --nz --ngf --ndf --beta1)
"""


def _plain(text: str) -> str:
    """Help in the command's words: flags for field names, no Python."""
    flag_of = {field: flag for flag, (field, _, _) in CONFIG_FLAGS.items()}
    text = text.replace("`1 - label_smoothing`", "1 minus --label-smoothing")
    text = re.sub(r";? ?\(?see `keras_dcgan\.[\w.]+`\)?", "", text)
    text = re.sub(r"`(\w+)`", lambda m: flag_of.get(m.group(1), m.group(0)), text)
    text = re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b", lambda m: flag_of.get(m[0], m[0]), text)
    text = text.replace(" (None: random)", "")  # from Python only
    text = text.replace("(None: ", "(not given: ")
    return text.replace("`tf.distribute` strategy", "Distribution strategy")


def _config_flag_help(field: str, helps: dict, defaults: dict, metavar: str) -> str:
    """A flag's help: the config field's meaning, its range and default."""
    text = _plain(helps[field].split(". ")[0].rstrip("."))
    if field in RANGES:
        low, high, high_open = RANGES[field]
        below = "<" if field in LOW_EXCLUDED else "<="
        text += f" ({low:g} {below} {metavar} {'<' if high_open else '<='} {high:g})"
    elif field in LIMITS:
        text += f" ({MINIMA.get(field, 1)} to {LIMITS[field]})"
    default = defaults[field]
    if field in ("image_size", "channels"):
        return f"{text} (default: from the data)"
    if field in UNSET and default in (None, False, 0):
        return f"{text} (default: {UNSET[field]})"
    return f"{text} (default: {default})"


def add_parsers(commands) -> None:
    """Adds `train`."""
    train = commands.add_parser(
        "train",
        help="train a DCGAN",
        description="Train a DCGAN and write its run directory. The common "
        "flags are shown here; --help-all shows every flag.",
        epilog=EXAMPLES,
    )
    train.add_argument(
        "--help-all", action=HelpAll, help="show every flag, grouped, and exit"
    )
    source = train.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        help="TFDS name (mnist, fashion_mnist, "
        "cifar10, celeb_a, ...) or 'digits', the 8x8 digits that need no "
        "download (default: digits, when --data is not given)",
    )
    source.add_argument(
        "--data",
        help=".npz/.npy image array or image folder (default: --dataset)",
    )
    train.add_argument(
        "--data-dir",
        help="TFDS data directory (default: TFDS's own, ~/tensorflow_datasets)",
    )
    train.add_argument("--output-dir", "--outf", required=True, help="run directory")
    helps = field_help()
    defaults = {f.name: f.default for f in dataclasses.fields(DCGANConfig)}
    groups = {name: train.add_argument_group(name) for name in GROUPS}
    group_of = {f: g for g, fields in GROUPS.items() for f in fields}
    for flag, (field, kind, extra) in CONFIG_FLAGS.items():
        extra = dict(extra)
        names = [flag] + extra.pop("aliases", [])
        if kind is not None:
            extra["type"] = kind
            if "choices" not in extra:
                extra.setdefault("metavar", {int: "N", float: "X"}.get(kind, "TEXT"))
        groups[group_of[field]].add_argument(
            *names,
            dest=field,
            default=None,
            help=_config_flag_help(field, helps, defaults, extra.get("metavar")),
            **extra,
        )
    mode = train.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume", action="store_true", help="continue the run in --output-dir"
    )
    mode.add_argument(
        "--overwrite", action="store_true", help="replace the run in --output-dir"
    )
    train.add_argument(
        "--allow-data-change",
        action="store_true",
        help="--resume with data that differs from the run's (refused by default)",
    )
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="check data and flags, build the models, write nothing",
    )
    train.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=None,
        help="0 quiet, 1 progress bar, 2 a plain line every "
        "1%% of the steps and each minute (default: 1 on a terminal, else 2)",
    )
    for action in train._actions:  # the rest waits for --help-all
        if action.dest not in COMMON:
            action.full_help, action.help = action.help, argparse.SUPPRESS


class HelpAll(argparse._HelpAction):
    """`--help-all`: the help of every flag, then exit (a help action, like
    `--help`)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for action in parser._actions:
            if hasattr(action, "full_help"):
                action.help = action.full_help
        parser.print_help()
        parser.exit()


def config_from_args(args) -> DCGANConfig:
    """The run's config: flags over defaults, or over the run's on resume."""
    from keras_dcgan import data, runs

    given = {
        field: getattr(args, field)
        for field, _, _ in CONFIG_FLAGS.values()
        if getattr(args, field) is not None
    }
    if args.resume:
        saved = runs.load_run_config(args.output_dir)
        config = runs.keep_run_values(saved, dataclasses.replace(saved, **given))
        runs.resume_changes(saved, config)  # refuses what cannot change
        return config
    size, channels = data.suggest_shape(dataset=args.dataset, data=args.data)
    given.setdefault("image_size", size)
    given.setdefault("channels", channels)
    return DCGANConfig(**given)
