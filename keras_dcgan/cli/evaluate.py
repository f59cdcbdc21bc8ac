"""`keras-dcgan evaluate` and `keras-dcgan train-classifier`."""

from __future__ import annotations

import logging
import sys

from keras_dcgan import bounds
from keras_dcgan.cli.common import (
    add_checkpoint,
    add_generator,
    add_image_source,
    add_int,
    add_seed,
    check_classifier_exists,
    check_input_exists,
    check_output,
    check_run_to_read,
    load_source_images,
)

logger = logging.getLogger("keras_dcgan")


def add_parsers(commands) -> None:
    """The `evaluate` and `train-classifier` subcommands."""
    evaluate = commands.add_parser(
        "evaluate", help="FID, KID, IS and precision/recall of a run"
    )
    evaluate.add_argument("run", help="run directory")
    add_checkpoint(evaluate)
    add_generator(evaluate)
    add_image_source(
        evaluate, "TFDS name of the real images", "real images: .npz/.npy or folder"
    )
    add_int(
        evaluate, "--num", 10_000, (2, bounds.MAX_IMAGES), "images of each set scored"
    )
    evaluate.add_argument(
        "--features",
        default="inception",
        help="inception (ImageNet InceptionV3) or "
        "classifier:PATH (a .keras classifier)",
    )
    evaluate.add_argument(
        "--metrics",
        default="fid,kid,is,pr",
        help="comma-separated subset of fid,kid,is,pr",
    )
    per_pass = "images per forward pass of the extractor"
    add_int(evaluate, "--batch-size", 100, (1, bounds.MAX_EVAL_BATCH), per_pass)
    add_seed(evaluate, default=0)
    evaluate.add_argument("--stats-cache", help="FILE.npz reusing the real statistics")
    evaluate.add_argument("--output", help="write the report to FILE.json")

    classify = commands.add_parser(
        "train-classifier", help="a small CNN for --features classifier:PATH"
    )
    add_image_source(
        classify, "TFDS name with a label feature", ".npz with images x and labels y"
    )
    classify.add_argument("--output", required=True, help="PATH.keras")
    passes = "passes over the labelled images"
    add_int(classify, "--epochs", 5, (1, bounds.MAX_CLASSIFIER_EPOCHS), passes)
    classify.add_argument(
        "--image-size",
        type=int,
        choices=bounds.IMAGE_SIZES,
        default=None,
        help="image side (default: from the data)",
    )
    classify.add_argument(
        "--channels",
        type=int,
        choices=[1, 3],
        default=None,
        help="1 gray or 3 RGB (default: from the data)",
    )
    add_seed(classify, default=0)


def metric_names(args) -> tuple:
    """`--metrics fid,kid` -> ("fid", "kid"), checked."""
    from keras_dcgan.quality import evaluation

    return evaluation.check_metrics(
        [m.strip() for m in args.metrics.split(",") if m.strip()]
    )


def check_evaluate(args) -> None:
    # What needs no TensorFlow first: a mistake about a file in a second.
    check_run_to_read(args.run, args.checkpoint)
    check_input_exists("--data", args.data)
    check_classifier_exists("--features", args.features)
    from keras_dcgan.quality import evaluation, stats

    metric_names(args)
    if args.output:
        check_output(
            "--output", args.output, (".json",), evaluation.is_report, "a report"
        )
    if args.stats_cache:
        stats.check_stats_cache(args.stats_cache)


def check_train_classifier(args) -> None:
    from keras_dcgan.quality import classifier

    check_output(
        "--output", args.output, (".keras",), classifier.is_classifier, "a classifier"
    )


def run_evaluate(args) -> int:
    import json

    from keras_dcgan import runs
    from keras_dcgan.atomic import write_text
    from keras_dcgan.quality import evaluation, features

    names = metric_names(args)
    config = runs.load_run_config(args.run)
    extractor = features.make_extractor(args.features)
    images = load_source_images(args, config.image_size, config.channels)
    logger.info("Real images: %s", images.description)
    report = evaluation.evaluate_run(
        args.run,
        images,
        extractor,
        args.num,
        args.seed,
        args.batch_size,
        names,
        args.stats_cache,
        source=args.data or f"tfds:{args.dataset}",
        checkpoint=args.checkpoint,
        generator=args.generator,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        write_text(args.output, text + "\n")
        logger.info("Wrote %s.", args.output)
    return 0


def run_train_classifier(args) -> int:
    from keras_dcgan.quality import classifier

    x, y = classifier.load_labelled(
        args.image_size,
        args.channels,
        data=args.data,
        dataset=args.dataset,
        data_dir=args.data_dir,
    )
    logger.info(
        "Labelled images: %d of %s, %d classes.",
        len(x),
        "x".join(map(str, x.shape[1:])),
        int(y.max()) + 1,
    )
    _, accuracy = classifier.train_classifier(
        x,
        y,
        args.output,
        epochs=args.epochs,
        seed=args.seed,
        verbose=2 if sys.stdout.isatty() else 0,
        source=args.data or f"tfds:{args.dataset}",
    )
    logger.info(
        "Saved %s (validation accuracy %s).",
        args.output,
        "n/a" if accuracy is None else f"{accuracy:.4f}",
    )
    return 0


HANDLERS = {"evaluate": run_evaluate, "train-classifier": run_train_classifier}
CHECKS = {
    "evaluate": check_evaluate,
    "train-classifier": check_train_classifier,
}
