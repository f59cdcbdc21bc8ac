"""`keras-dcgan train` and `keras-dcgan sample`."""

from __future__ import annotations

import dataclasses
import logging
import sys

from keras_dcgan import limits
from keras_dcgan.cli.common import add_seed, bounded_int, check_output
from keras_dcgan.config import JIT_COMPILE, PRECISIONS, STRATEGIES, DCGANConfig

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
    "--max-image-pixels": ("max_image_pixels", int, {}),
    "--collapse-patience": ("collapse_patience", int, {}),
    "--stop-on-collapse": ("stop_on_collapse", None,
                           {"action": "store_const", "const": True}),
    "--eval-every": ("eval_every", int, {}),
    "--eval-features": ("eval_features", str, {}),
    "--eval-metric": ("eval_metric", str, {}),
    "--eval-num": ("eval_num", int, {}),
    "--precision": ("precision", str, {"choices": list(PRECISIONS)}),
    "--jit-compile": ("jit_compile", str, {"choices": list(JIT_COMPILE)}),
    "--strategy": ("strategy", str, {"choices": list(STRATEGIES)}),
}

def add_parsers(commands) -> None:
    """Adds `train` and `sample`."""
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
    train.add_argument("--allow-data-change", action="store_true",
                       help="--resume with data that differs from the run's "
                            "(refused by default)")
    train.add_argument("--dry-run", action="store_true",
                       help="check data and flags, build the models, write "
                            "nothing")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=None,
                       help="0 quiet, 1 progress bar, 2 a line per epoch")

    sample = commands.add_parser("sample", help="images from a trained run")
    sample.add_argument("run", help="run directory")
    sample.add_argument("--num", type=bounded_int(1, limits.MAX_IMAGES),
                        default=64, help="images")
    sample.add_argument("--output", required=True,
                        help="FILE.png (a grid) or FILE.npz (uint8 array x)")
    add_seed(sample)
    sample.add_argument("--save-latents", metavar="FILE.npy",
                        help="also save the latents (for `arithmetic`)")

def config_from_args(args) -> DCGANConfig:
    """The run's config: flags over defaults, or over the run's on resume."""
    from keras_dcgan import data, runs

    given = {field: getattr(args, field) for field, _, _ in CONFIG_FLAGS.values()
             if getattr(args, field) is not None}
    if args.resume:
        saved = runs.load_run_config(args.output_dir)
        config = dataclasses.replace(saved, **given)
        runs.resume_changes(saved, config)  # refuses what cannot change
        return config
    size, channels = data.suggest_shape(dataset=args.dataset, data=args.data)
    given.setdefault("image_size", size)
    given.setdefault("channels", channels)
    return DCGANConfig(**given)

def run_train(args) -> int:
    from keras_dcgan import data, training
    from keras_dcgan.devices import distribute

    config = config_from_args(args)
    # First: a multi-worker strategy must exist before any TensorFlow work.
    strategy = distribute.make_strategy(config.strategy)
    images = data.load_images(config.image_size, config.channels,
                              dataset=args.dataset, data=args.data,
                              data_dir=args.data_dir,
                              center_crop=config.center_crop,
                              max_bad_fraction=config.max_bad_fraction,
                              max_image_pixels=config.max_image_pixels)
    logger.info("Data: %s", images.description)
    if args.dry_run:
        return dry_run(config, images, strategy)
    verbose = args.verbose if args.verbose is not None else (
        1 if sys.stdout.isatty() else 2)
    training.train(config, images, args.output_dir, resume=args.resume,
                   overwrite=args.overwrite, verbose=verbose, strategy=strategy,
                   allow_data_change=args.allow_data_change)
    return 0

def dry_run(config, images, strategy) -> int:
    from keras_dcgan.dcgan import DCGAN
    from keras_dcgan.devices.kernels import onednn_enabled

    gan = DCGAN(config, strategy=strategy)
    gan.generator.summary()
    gan.discriminator.summary()
    steps = images.num_images // config.batch_size
    total = config.steps or config.epochs * steps
    logger.info("Dry run: %d steps (%d per epoch) at batch %d over %d "
                "replica(s), XLA %s, oneDNN %s; config %s. Nothing written.",
                total, steps, config.batch_size, strategy.num_replicas_in_sync,
                "on" if gan.jit_compile else "off",
                "on" if onednn_enabled() else "off", dataclasses.asdict(config))
    return 0

def check_sample(args) -> None:
    from keras_dcgan.errors import DataError

    check_output("--output", args.output, (".png", ".npz"))
    if args.output.lower().endswith(".png") and \
            args.num > limits.MAX_GRID_IMAGES:
        raise DataError(f"--num {args.num}: a .png grid holds at most "
                        f"{limits.MAX_GRID_IMAGES} images; write a .npz "
                        "array for more.")
    if args.save_latents:
        check_output("--save-latents", args.save_latents, (".npy",))


def run_sample(args) -> int:
    from keras_dcgan import runs, visualize
    from keras_dcgan.generator import latent

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

HANDLERS = {"train": run_train, "sample": run_sample}
# train's flags are checked by DCGANConfig, in config_from_args.
CHECKS = {"sample": check_sample}
