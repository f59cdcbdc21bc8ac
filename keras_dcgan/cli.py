"""The `keras-dcgan` command: flags in, library calls out."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Optional, Sequence

# Before TensorFlow is imported: its C++ start-up chatter is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

logger = logging.getLogger("keras_dcgan")

# flag -> DCGANConfig field; aliases keep the paper's code names.
CONFIG_FLAGS = {
    "--image-size": ("image_size", int, {}),
    "--channels": ("channels", int, {}),
    "--latent-dim": ("latent_dim", int, {"aliases": ["--nz"]}),
    "--generator-width": ("generator_width", int, {"aliases": ["--ngf"]}),
    "--discriminator-width": ("discriminator_width", int,
                              {"aliases": ["--ndf"]}),
    "--dropout": ("dropout", float, {}),
    "--learning-rate": ("learning_rate", float, {}),
    "--beta-1": ("beta_1", float, {"aliases": ["--beta1"]}),
    "--label-smoothing": ("label_smoothing", float, {}),
    "--frozen-bn-stats": ("frozen_bn_stats", str,
                          {"choices": ["batch", "moving"]}),
    "--batch-size": ("batch_size", int, {}),
    "--epochs": ("epochs", int, {}),
    "--steps": ("steps", int, {}),
    "--seed": ("seed", int, {}),
    "--checkpoint-every": ("checkpoint_every", int, {}),
    "--max-checkpoints": ("max_checkpoints", int, {}),
    "--log-every": ("log_every", int, {}),
    "--num-samples": ("num_samples", int, {}),
    "--center-crop": ("center_crop", int, {}),
    "--max-bad-fraction": ("max_bad_fraction", float, {}),
}
# Fields a resumed run may change; the rest come from its config.json.
RESUMABLE_FIELDS = ("epochs", "steps", "checkpoint_every", "max_checkpoints",
                    "log_every", "max_bad_fraction")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-dcgan",
        description="Train and sample DCGANs (Radford et al., 2015) on Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a DCGAN")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--dataset", help="TFDS name (mnist, fashion_mnist, "
                        "cifar10, celeb_a, ...) or 'digits' (offline default)")
    source.add_argument("--data", help=".npz/.npy image array or image folder")
    train.add_argument("--data-dir", help="TFDS data directory")
    train.add_argument("--output-dir", required=True, help="run directory")
    for flag, (field, kind, extra) in CONFIG_FLAGS.items():
        extra = dict(extra)
        names = [flag] + extra.pop("aliases", [])
        train.add_argument(*names, dest=field, type=kind, default=None,
                           help=f"config.{field}", **extra)
    mode = train.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the run in --output-dir")
    mode.add_argument("--overwrite", action="store_true",
                      help="replace the run in --output-dir")
    train.add_argument("--dry-run", action="store_true",
                       help="check data and flags, build the models, write "
                            "nothing")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=None,
                       help="0 quiet, 1 progress bar, 2 a line per epoch")

    sample = commands.add_parser("sample", help="images from a trained run")
    sample.add_argument("run", help="run directory")
    sample.add_argument("--num", type=int, default=64, help="images")
    sample.add_argument("--output", required=True,
                        help="FILE.png (a grid) or FILE.npz (uint8 array x)")
    sample.add_argument("--seed", type=int, default=None)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.WARNING)
    from keras_dcgan import config as config_lib, data, runs

    try:
        if args.command == "train":
            return run_train(args)
        return run_sample(args)
    except (config_lib.ConfigError, data.DataError, runs.RunError) as e:
        print(f"keras-dcgan: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-dcgan: interrupted", file=sys.stderr)
        return 130


def config_from_args(args) -> "DCGANConfig":
    """The run's config: flags over defaults, or over the run's on resume."""
    from keras_dcgan import data, runs
    from keras_dcgan.config import DCGANConfig

    given = {field: getattr(args, field) for field, _, _ in CONFIG_FLAGS.values()
             if getattr(args, field) is not None}
    if args.resume:
        saved = runs.load_run_config(args.output_dir)
        fixed = {k: v for k, v in given.items() if k not in RESUMABLE_FIELDS}
        runs.check_same_architecture(
            saved, dataclasses.replace(saved, **fixed))
        return dataclasses.replace(saved, **given)
    size, channels = data.suggest_shape(dataset=args.dataset, data=args.data)
    given.setdefault("image_size", size)
    given.setdefault("channels", channels)
    return DCGANConfig(**given)


def run_train(args) -> int:
    from keras_dcgan import data, training

    config = config_from_args(args)
    images = data.load_images(config.image_size, config.channels,
                              dataset=args.dataset, data=args.data,
                              data_dir=args.data_dir,
                              center_crop=config.center_crop,
                              max_bad_fraction=config.max_bad_fraction)
    logger.info("Data: %s", images.description)
    if args.dry_run:
        return dry_run(config, images)
    verbose = args.verbose if args.verbose is not None else (
        1 if sys.stdout.isatty() else 2)
    training.train(config, images, args.output_dir, resume=args.resume,
                   overwrite=args.overwrite, verbose=verbose)
    return 0


def dry_run(config, images) -> int:
    from keras_dcgan.composite import DCGAN

    gan = DCGAN(config)
    gan.generator.summary()
    gan.discriminator.summary()
    steps = images.num_images // config.batch_size
    total = config.steps or config.epochs * steps
    logger.info("Dry run: %d steps (%d per epoch) at batch %d; config %s. "
                "Nothing written.", total, steps, config.batch_size,
                dataclasses.asdict(config))
    return 0


def run_sample(args) -> int:
    from keras_dcgan import latent, runs, visualize
    from keras_dcgan.data import DataError

    if args.num < 1:
        raise DataError(f"--num {args.num}: ask for at least one image.")
    extension = os.path.splitext(args.output)[1].lower()
    if extension not in (".png", ".npz"):
        raise DataError(f"--output {args.output}: use a .png (grid) or .npz "
                        "(array) file name.")
    generator = runs.load_generator(args.run)
    z = latent.sample_latents(args.num, generator.input_shape[-1], args.seed)
    images = latent.generate(generator, z)
    visualize.save_images(images, args.output)
    logger.info("Wrote %d images to %s.", len(images), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
