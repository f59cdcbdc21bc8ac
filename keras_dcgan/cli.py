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
}
# Fields a resumed run may change; the rest come from its config.json.
RESUMABLE_FIELDS = ("epochs", "steps", "checkpoint_every", "max_checkpoints",
                    "log_every")


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
    add_metric_parsers(commands)
    return parser


def add_metric_parsers(commands) -> None:
    """The `evaluate` and `train-classifier` subcommands."""
    evaluate = commands.add_parser(
        "evaluate", help="FID, KID, IS and precision/recall of a run")
    evaluate.add_argument("run", help="run directory")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="TFDS name of the real images")
    source.add_argument("--data", help="real images: .npz/.npy or folder")
    evaluate.add_argument("--data-dir", help="TFDS data directory")
    evaluate.add_argument("--num", type=int, default=10_000,
                          help="images of each set scored (default 10000)")
    evaluate.add_argument("--features", default="inception",
                          help="inception (ImageNet InceptionV3) or "
                               "classifier:PATH (a .keras classifier)")
    evaluate.add_argument("--metrics", default="fid,kid,is,pr",
                          help="comma-separated subset of fid,kid,is,pr")
    evaluate.add_argument("--batch-size", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--stats-cache",
                          help="FILE.npz reusing the real statistics")
    evaluate.add_argument("--output", help="write the report to FILE.json")

    classify = commands.add_parser(
        "train-classifier", help="a small CNN for --features classifier:PATH")
    source = classify.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="TFDS name with a label feature")
    source.add_argument("--data", help=".npz with images x and labels y")
    classify.add_argument("--data-dir", help="TFDS data directory")
    classify.add_argument("--output", required=True, help="PATH.keras")
    classify.add_argument("--epochs", type=int, default=5)
    classify.add_argument("--image-size", type=int, default=None,
                          help="default: from the data")
    classify.add_argument("--channels", type=int, choices=[1, 3],
                          default=None, help="default: from the data")
    classify.add_argument("--seed", type=int, default=0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.WARNING)
    from keras_dcgan import config as config_lib, data, runs

    try:
        if args.command == "train":
            return run_train(args)
        if args.command == "evaluate":
            return run_evaluate(args)
        if args.command == "train-classifier":
            return run_train_classifier(args)
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
                              data_dir=args.data_dir)
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


def run_evaluate(args) -> int:
    import json

    from keras_dcgan import data, evaluation, features, metrics, runs

    if args.num < 2 or args.batch_size < 1:
        raise data.DataError(f"--num {args.num} / --batch-size "
                             f"{args.batch_size}: need --num >= 2 and "
                             "--batch-size >= 1.")
    names = evaluation.check_metrics(
        [m.strip() for m in args.metrics.split(",") if m.strip()])
    config = runs.load_run_config(args.run)
    extractor = features.make_extractor(args.features)
    images = data.load_images(config.image_size, config.channels,
                              dataset=args.dataset, data=args.data,
                              data_dir=args.data_dir)
    logger.info("Real images: %s", images.description)
    try:
        report = evaluation.evaluate_run(
            args.run, images, extractor, args.num, args.seed,
            args.batch_size, names, args.stats_cache,
            source=args.data or f"tfds:{args.dataset}")
    except metrics.MetricsError as e:  # main() reports DataError cleanly
        raise data.DataError(str(e)) from e
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        folder, name = os.path.split(os.path.abspath(args.output))
        tmp = os.path.join(folder, f".tmp-{name}")
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.output)
        logger.info("Wrote %s.", args.output)
    return 0


def run_train_classifier(args) -> int:
    from keras_dcgan import classifier

    x, y = classifier.load_labelled(args.image_size, args.channels,
                                    data=args.data, dataset=args.dataset,
                                    data_dir=args.data_dir)
    logger.info("Labelled images: %d of %s, %d classes.", len(x),
                "x".join(map(str, x.shape[1:])), int(y.max()) + 1)
    _, accuracy = classifier.train_classifier(
        x, y, args.output, epochs=args.epochs, seed=args.seed,
        verbose=2 if sys.stdout.isatty() else 0,
        source=args.data or f"tfds:{args.dataset}")
    logger.info("Saved %s (validation accuracy %s).", args.output,
                "n/a" if accuracy is None else f"{accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
