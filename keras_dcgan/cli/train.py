"""`keras-dcgan train`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import sys

from keras_dcgan.bounds import LIMITS, LOW_EXCLUDED, MINIMA, RANGES
from keras_dcgan.cli.common import (
    check_classifier_exists,
    check_input_exists,
    load_source_images,
)
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
from keras_dcgan.runs import run_dir

logger = logging.getLogger("keras_dcgan")

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


def run_train(args) -> int:
    from keras_dcgan import training
    from keras_dcgan.devices import distribute, summary
    from keras_dcgan.training.loop import check_training_memory

    config = config_from_args(args)
    # First: a multi-worker strategy must exist before any TensorFlow work.
    strategy = distribute.make_strategy(config.strategy)
    check_training_memory(config)  # before the data and the models
    logger.info(summary.describe(strategy, config.jit_compile, config.precision))
    images = load_source_images(
        args,
        config.image_size,
        config.channels,
        center_crop=config.center_crop,
        max_bad_fraction=config.max_bad_fraction,
        max_image_pixels=config.max_image_pixels,
    )
    logger.info("Data: %s", images.description)
    if args.dry_run:
        return dry_run(args, config, images, strategy)
    verbose = (
        args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    )
    training.train(
        config,
        images,
        args.output_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        verbose=verbose,
        strategy=strategy,
        allow_data_change=args.allow_data_change,
    )
    return 0


def dry_run(args, config, images, strategy) -> int:
    """Makes every check the real run makes, builds the models, writes
    nothing, and says what the run would do."""
    from keras_dcgan.dcgan import DCGAN
    from keras_dcgan.devices.kernels import onednn_enabled
    from keras_dcgan.training.preflight import preflight

    # The real run's checks, in its order (nothing held, nothing written).
    steps = preflight(
        config,
        images,
        args.output_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        allow_data_change=args.allow_data_change,
        strategy=strategy,
    ).steps_per_epoch
    gan = DCGAN(config, strategy=strategy)
    gan.generator.summary()
    gan.discriminator.summary()
    total = config.steps or config.epochs * steps
    logger.info(
        "Dry run: %d steps (%d per epoch) at batch %d over %d "
        "replica(s), XLA %s, oneDNN %s; config %s. Nothing written.",
        total,
        steps,
        config.batch_size,
        strategy.num_replicas_in_sync,
        "on" if gan.jit_compile else "off",
        "on" if onednn_enabled() else "off",
        dataclasses.asdict(config),
    )
    action = (
        "resume the run in"
        if args.resume
        else "replace the run in"
        if args.overwrite
        else "start a new run in"
    )
    logger.info("The real run would %s %s.", action, args.output_dir)
    return 0


def check_train(args) -> None:
    """Validates every flag given, before TensorFlow is imported (a typo is
    answered in a second): against the run's config.json on --resume."""
    given = {
        field: getattr(args, field)
        for field, _, _ in CONFIG_FLAGS.values()
        if getattr(args, field) is not None
    }
    _refuse_empty_names(args)
    _refuse_run_in_its_data(args)
    saved = os.path.join(args.output_dir, "config.json")
    if args.resume and os.path.isfile(saved):
        dataclasses.replace(DCGANConfig.from_json(saved), **given)
    else:
        DCGANConfig(**given)  # the data decides the size later; flags now
    # Mistakes about files, answered before TensorFlow is imported.
    check_input_exists("--data", args.data)
    check_input_exists("--data-dir", args.data_dir)
    check_classifier_exists("--eval-features", args.eval_features)
    # A worker of a multi-worker run writes a directory of its own, not
    # --output-dir (`runs.workers`); the loop checks that one.
    if args.strategy != "multi_worker" and "TF_CONFIG" not in os.environ:
        run_dir.check_run_dir(args.output_dir, args.resume, args.overwrite)


def _refuse_empty_names(args) -> None:
    from keras_dcgan.errors import RunError

    fixes = {
        "--output-dir": "name a new folder for the run",
        "--data": "name an .npz/.npy image array or an image folder",
        "--data-dir": "name the TFDS data folder",
    }
    for flag, fix in fixes.items():
        name = getattr(args, flag[2:].replace("-", "_"))
        if name is not None and (not name or "\0" in name):
            raise RunError(f"{flag} is empty (or holds a NUL character); {fix}.")


def _refuse_run_in_its_data(args) -> None:
    """A run inside its image folder would read its own pictures (sample
    grids, the loss plot, the GIF) as training data once it has made them:
    a resumed run would see other data than it started with."""
    from keras_dcgan.errors import DataError

    if not (args.data and os.path.isdir(args.data)):
        return
    data = os.path.realpath(args.data)
    run = os.path.realpath(args.output_dir)
    if run != data and not run.startswith(data.rstrip(os.sep) + os.sep):
        return
    if args.resume:
        raise DataError(
            f"--resume: the run {args.output_dir} is inside its data folder "
            f"{args.data}, so its own pictures (samples/, losses.png, "
            "progress.gif) are now read as training data. Move the run out "
            "of the folder and --resume it there."
        )
    raise DataError(
        f"--output-dir {args.output_dir} is inside the data folder "
        f"{args.data}: the run's own pictures would be read as training "
        "data when it is resumed. Choose an --output-dir outside it."
    )


HANDLERS = {"train": run_train}
CHECKS = {"train": check_train}
