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
    "--collapse-patience": ("collapse_patience", int, {}),
    "--stop-on-collapse": ("stop_on_collapse", None,
                           {"action": "store_const", "const": True}),
}
# Fields a resumed run may change; the rest come from its config.json.
RESUMABLE_FIELDS = ("epochs", "steps", "checkpoint_every", "max_checkpoints",
                    "log_every", "max_bad_fraction", "collapse_patience",
                    "stop_on_collapse")


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
        if kind is not None:
            extra["type"] = kind
        train.add_argument(*names, dest=field, default=None,
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
    sample.add_argument("--save-latents", metavar="FILE.npy",
                        help="also save the latents (for `arithmetic`)")
    add_generator_commands(commands)
    return parser


def index_list(text: str) -> list:
    """`--plus 1,2,3` -> [1, 2, 3]."""
    try:
        return [int(i) for i in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give comma-separated latent indices, e.g. 0,4,7")


def add_generator_commands(commands) -> None:
    """Subcommands that use a trained generator: export and exploration."""
    export = commands.add_parser("export", help="SavedModel for TF Serving, "
                                 "or TFLite")
    export.add_argument("run", help="run directory")
    export.add_argument("--output-dir", required=True,
                        help="model base path; versions go in BASE/N")
    export.add_argument("--version", type=int, default=None,
                        help="integer version (default: the next one)")
    export.add_argument("--max-batch", type=int, default=1024,
                        help="largest batch a request may ask for")
    export.add_argument("--format", choices=["saved_model", "tflite"],
                        default="saved_model",
                        help="tflite writes BASE/generator.tflite")

    walk = commands.add_parser("interpolate", help="walks in latent space")
    walk.add_argument("run", help="run directory")
    walk.add_argument("--output", required=True, help="FILE.png or FILE.gif")
    walk.add_argument("--rows", type=int, default=8, help="walks")
    walk.add_argument("--steps", type=int, default=10, help="images per walk")
    walk.add_argument("--method", choices=["slerp", "lerp"], default="slerp")
    walk.add_argument("--seed", type=int, default=None)

    arith = commands.add_parser("arithmetic", help="vector arithmetic on "
                                "saved latents: A - B + C")
    arith.add_argument("run", help="run directory")
    arith.add_argument("--latents", required=True,
                       help="FILE.npy from `sample --save-latents`")
    arith.add_argument("--plus", action="append", type=index_list,
                       required=True, metavar="I,J,K",
                       help="latents to average and add (repeatable)")
    arith.add_argument("--minus", action="append", type=index_list,
                       default=[], metavar="I,J,K",
                       help="latents to average and subtract (repeatable)")
    arith.add_argument("--output", required=True, help="FILE.png")
    arith.add_argument("--variations", type=int, default=8,
                       help="copies of the result with uniform noise")
    arith.add_argument("--noise", type=float, default=0.25,
                       help="half-width of that noise")
    arith.add_argument("--seed", type=int, default=None)

    near = commands.add_parser("nearest", help="samples beside their "
                               "nearest training images (memorisation check)")
    near.add_argument("run", help="run directory")
    source = near.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="TFDS name or 'digits'")
    source.add_argument("--data", help=".npz/.npy image array or folder")
    near.add_argument("--data-dir", help="TFDS data directory")
    near.add_argument("--output", required=True, help="FILE.png")
    near.add_argument("--num", type=int, default=16, help="samples")
    near.add_argument("--neighbours", type=int, default=3,
                      help="training images shown per sample")
    near.add_argument("--seed", type=int, default=None)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.WARNING)
    from keras_dcgan import config as config_lib, data, monitor, runs

    try:
        handlers = {"train": run_train, "sample": run_sample,
                    "export": run_export, "interpolate": run_interpolate,
                    "arithmetic": run_arithmetic, "nearest": run_nearest}
        return handlers[args.command](args)
    except (config_lib.ConfigError, data.DataError, runs.RunError) as e:
        print(f"keras-dcgan: error: {e}", file=sys.stderr)
        return 2
    except monitor.TrainingError as e:
        print(f"keras-dcgan: {e}", file=sys.stderr)
        return e.exit_code
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
    if args.save_latents:
        check_extension("--save-latents", args.save_latents, (".npy",))
    generator = runs.load_generator(args.run)
    z = latent.sample_latents(args.num, generator.input_shape[-1], args.seed)
    images = latent.generate(generator, z)
    visualize.save_images(images, args.output)
    logger.info("Wrote %d images to %s.", len(images), args.output)
    if args.save_latents:
        latent.save_latents(z, args.save_latents)
        logger.info("Wrote their latents to %s (image i = row i).",
                    args.save_latents)
    return 0


def check_extension(flag: str, path: str, allowed: tuple) -> None:
    from keras_dcgan.data import DataError

    if os.path.splitext(path)[1].lower() not in allowed:
        raise DataError(f"{flag} {path}: use a file name ending in "
                        f"{' or '.join(allowed)}.")


def run_export(args) -> int:
    from keras_dcgan import export, runs

    generator = runs.load_generator(args.run)
    if args.format == "tflite":
        path = os.path.join(args.output_dir, "generator.tflite")
        if os.path.exists(path):
            raise runs.RunError(f"{path} exists already; choose another "
                                "--output-dir or remove it first.")
        export.export_tflite(generator, path)
    else:
        path = export.export_saved_model(generator, args.output_dir,
                                         args.version, args.max_batch)
    print(path)
    return 0


def run_interpolate(args) -> int:
    from keras_dcgan import explore, runs

    check_extension("--output", args.output, (".png", ".gif"))
    generator = runs.load_generator(args.run)
    walks = explore.interpolation_grid(generator, args.rows, args.steps,
                                       args.method, args.seed)
    explore.save_interpolation(walks, args.output)
    logger.info("Wrote %d %s walks of %d steps to %s.", args.rows,
                args.method, args.steps, args.output)
    return 0


def run_arithmetic(args) -> int:
    from keras_dcgan import explore, latent, runs

    check_extension("--output", args.output, (".png",))
    generator = runs.load_generator(args.run)
    z = latent.load_latents(args.latents, generator.input_shape[-1])
    result = explore.latent_arithmetic(z, args.plus, args.minus,
                                       args.variations, args.noise, args.seed)
    explore.save_arithmetic(generator, result, args.output)
    logger.info("Wrote the arithmetic of %d groups to %s.",
                len(result.groups), args.output)
    return 0


def run_nearest(args) -> int:
    import numpy as np

    from keras_dcgan import data, latent, nearest, runs

    check_extension("--output", args.output, (".png",))
    if args.num < 1:
        raise data.DataError(f"--num {args.num}: ask for at least one image.")
    generator = runs.load_generator(args.run)
    size, channels = generator.output_shape[1], generator.output_shape[-1]
    source = data.load_images(size, channels, dataset=args.dataset,
                              data=args.data, data_dir=args.data_dir)
    train = np.concatenate(list(source.dataset.batch(4096).as_numpy_iterator()))
    samples = latent.generate(generator, latent.sample_latents(
        args.num, generator.input_shape[-1], args.seed))
    indices, distances = nearest.nearest_neighbours(samples, train,
                                                    args.neighbours)
    nearest.save_nearest(samples, train, indices, args.output)
    reference = nearest.training_distances(train, seed=args.seed)
    print(f"mean distance sample -> nearest training image: "
          f"{distances[:, 0].mean():.3f}\n"
          f"mean distance training image -> nearest other training image: "
          f"{reference['nearest']:.3f}\n"
          f"mean distance between two random training images: "
          f"{reference['pairwise']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
