"""Subcommands that use a trained generator: export and exploration."""

from __future__ import annotations

import argparse
import logging
import os

from keras_dcgan.cli.common import check_extension

logger = logging.getLogger("keras_dcgan")


def index_list(text: str) -> list:
    """`--plus 1,2,3` -> [1, 2, 3]."""
    try:
        return [int(i) for i in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give comma-separated latent indices, e.g. 0,4,7")


def add_parsers(commands) -> None:
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


def run_export(args) -> int:
    from keras_dcgan import runs
    from keras_dcgan.generator import export

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
    from keras_dcgan import runs
    from keras_dcgan.generator import explore

    check_extension("--output", args.output, (".png", ".gif"))
    generator = runs.load_generator(args.run)
    walks = explore.interpolation_grid(generator, args.rows, args.steps,
                                       args.method, args.seed)
    explore.save_interpolation(walks, args.output)
    logger.info("Wrote %d %s walks of %d steps to %s.", args.rows,
                args.method, args.steps, args.output)
    return 0


def run_arithmetic(args) -> int:
    from keras_dcgan import runs
    from keras_dcgan.generator import explore, latent

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

    from keras_dcgan import data, runs
    from keras_dcgan.generator import latent, nearest

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


HANDLERS = {"export": run_export, "interpolate": run_interpolate,
            "arithmetic": run_arithmetic, "nearest": run_nearest}
