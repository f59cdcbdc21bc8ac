"""`keras-dcgan train`: runs the job its flags (`train_flags`) describe."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys

from keras_dcgan.cli.common import (
    check_classifier_exists,
    check_input_exists,
    load_source_images,
)
from keras_dcgan.cli.train_flags import (  # noqa: F401 (cli/__init__ calls train.add_parsers)
    CONFIG_FLAGS,
    add_parsers,
    config_from_args,
)
from keras_dcgan.config import DCGANConfig
from keras_dcgan.runs import run_dir

logger = logging.getLogger("keras_dcgan")


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
