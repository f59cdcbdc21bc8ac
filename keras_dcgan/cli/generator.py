"""Subcommands that use a trained generator: sampling, export, exploration."""

from __future__ import annotations

import argparse
import logging
import os
import re

from keras_dcgan import bounds
from keras_dcgan.cli import common

logger = logging.getLogger("keras_dcgan")


def index_list(text: str) -> list:
    """`--plus 1,2,3` -> [1, 2, 3]; indices count from 0 (no negative ones)."""
    try:
        indices = [int(i) for i in text.split(",")]
    except ValueError:
        indices = None
    if indices is None or any(i < 0 for i in indices):
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r}: give comma-separated latent indices from 0 (the "
            "first row of the latents file), e.g. 0,4,7"
        )
    return indices


SEEDS_FORM = "give seeds from 0, as A-B (both included), A,B,C or a mix, e.g. 0-49999"


def seed_list(text: str) -> list:
    """`--seeds 0-2,7` -> [0, 1, 2, 7]: ranges (both ends included) and
    single seeds, comma-separated; at most `bounds.MAX_SEEDS` in all.

    Counted before any list is made, so `0-1000000000000` costs nothing.
    """
    parts = []
    for part in text.split(","):
        found = re.fullmatch(r"\s*([0-9]{1,19})\s*(?:-\s*([0-9]{1,19})\s*)?", part)
        if found is None:
            raise argparse.ArgumentTypeError(f"{part.strip()[:40]!r}: {SEEDS_FORM}")
        first = int(found.group(1))
        last = first if found.group(2) is None else int(found.group(2))
        if last < first:
            raise argparse.ArgumentTypeError(
                f"{part.strip()[:40]!r} ends before it starts; write the smaller "
                "seed first, e.g. 2-5"
            )
        if last > bounds.MAX_SEED:
            raise argparse.ArgumentTypeError(
                f"{part.strip()[:40]!r}: seeds go from 0 to {bounds.MAX_SEED}"
            )
        parts.append((first, last))
    count = sum(last - first + 1 for first, last in parts)
    if count > bounds.MAX_SEEDS:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} names {count:,} seeds, more than the "
            f"{bounds.MAX_SEEDS:,} one call writes; split the range over "
            "several calls (one --outdir holds them all)"
        )
    seeds = (s for first, last in parts for s in range(first, last + 1))
    return list(dict.fromkeys(seeds))  # a repeated seed is one image


def add_reader(commands, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand that reads a run's generator: its positional `run`,
    `--checkpoint` and `--generator`, the same for every such command."""
    parser = commands.add_parser(name, help=text)
    parser.add_argument("run", help="run directory")
    common.add_checkpoint(parser)
    common.add_generator(parser)
    return parser


def add_parsers(commands) -> None:
    """Subcommands that use a trained generator: sampling, export, exploration."""
    sample = add_reader(commands, "sample", "images from a trained run")
    common.add_int(sample, "--num", 64, (1, bounds.MAX_IMAGES), "images")
    target = sample.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--output", help="FILE.png (a grid) or FILE.npz (uint8 array x)"
    )
    target.add_argument(
        "--seeds",
        type=seed_list,
        metavar="A-B,C",
        help="one PNG per seed into --outdir, OUTDIR/seed0042.png, the same "
        "image for the same seed in any range (for FID tools: 0-49999); "
        f"at most {bounds.MAX_SEEDS:,}",
    )
    sample.add_argument(
        "--outdir", metavar="DIR", help="the folder of --seeds' PNGs (made if new)"
    )
    common.add_seed(sample)
    sample.add_argument(
        "--save-latents",
        metavar="FILE.npy",
        help="also save the latents (for `arithmetic`)",
    )

    export = add_reader(commands, "export", "SavedModel for TF Serving, or TFLite")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--output-dir",
        help="model base path; versions go in BASE/N (with --format tflite: "
        "BASE/generator.tflite)",
    )
    target.add_argument(
        "--output",
        metavar="FILE.tflite",
        help="the TFLite file (implies --format tflite)",
    )
    version = "integer version (default: the next one)"
    common.add_int(export, "--version", None, (1, bounds.MAX_VERSION), version)
    most = "largest batch a request may ask for"
    common.add_int(export, "--max-batch", 1024, (1, bounds.MAX_INT32), most)
    export.add_argument(
        "--format",
        choices=["saved_model", "tflite"],
        default=None,
        help="default: tflite with --output, else saved_model",
    )

    walk = add_reader(commands, "interpolate", "walks in latent space")
    walk.add_argument("--output", required=True, help="FILE.png or FILE.gif")
    common.add_int(walk, "--rows", 8, (1, bounds.MAX_GRID_IMAGES // 2), "walks")
    steps = (2, bounds.MAX_GRID_IMAGES)
    common.add_int(walk, "--steps", 10, steps, "images per walk")
    walk.add_argument(
        "--method",
        choices=["slerp", "lerp"],
        default="slerp",
        help="slerp follows the sphere Gaussian latents lie "
        "near; lerp the straight line",
    )
    common.add_seed(walk)

    arith = add_reader(
        commands, "arithmetic", "vector arithmetic on saved latents: A - B + C"
    )
    arith.add_argument(
        "--latents", required=True, help="FILE.npy from `sample --save-latents`"
    )
    arith.add_argument(
        "--plus",
        action="append",
        type=index_list,
        required=True,
        metavar="I,J,K",
        help="latents to average and add (repeatable)",
    )
    arith.add_argument(
        "--minus",
        action="append",
        type=index_list,
        default=[],
        metavar="I,J,K",
        help="latents to average and subtract (repeatable)",
    )
    arith.add_argument("--output", required=True, help="FILE.png")
    copies = "copies of the result with uniform noise"
    common.add_int(arith, "--variations", 8, (1, bounds.MAX_VARIATIONS), copies)
    arith.add_argument(
        "--noise",
        default=0.25,
        type=common.finite_float(0.0, bounds.MAX_NOISE),
        help="half-width of that noise",
    )
    common.add_seed(arith)

    near = add_reader(
        commands,
        "nearest",
        "samples beside their nearest training images (memorisation check)",
    )
    common.add_image_source(
        near, "TFDS name or 'digits'", ".npz/.npy image array or folder"
    )
    near.add_argument("--output", required=True, help="FILE.png")
    common.add_int(near, "--num", 16, (1, bounds.MAX_NEAREST), "samples")
    shown = "training images shown per sample"
    common.add_int(near, "--neighbours", 3, (1, bounds.MAX_NEIGHBOURS), shown)
    common.add_seed(near)


def _written_here(path: str) -> bool:
    # visualize imports TensorFlow: only when a file is there to look at.
    from keras_dcgan import visualize

    return visualize.written_here(path)


def _check_picture(args, allowed: tuple) -> None:
    """`--output`: a picture or image array, new or one keras-dcgan wrote;
    then the run it reads (before TensorFlow is imported)."""
    common.check_output("--output", args.output, allowed, _written_here, "a file")
    common.check_run_to_read(args.run, args.checkpoint)


def _is_latents_file(path: str) -> bool:
    from keras_dcgan.generator import latent  # imports TensorFlow

    return latent.is_latents_file(path)


def check_sample(args) -> None:
    from keras_dcgan.errors import DataError

    if args.seeds is not None or args.outdir is not None:
        _check_seeds(args)
        return
    _check_picture(args, (".png", ".npz"))
    if args.output.lower().endswith(".png") and args.num > bounds.MAX_GRID_IMAGES:
        raise DataError(
            f"--num {args.num}: a .png grid holds at most "
            f"{bounds.MAX_GRID_IMAGES} images; write a .npz "
            "array for more."
        )
    if args.save_latents:
        common.check_output(
            "--save-latents",
            args.save_latents,
            (".npy",),
            _is_latents_file,
            "a latents file",
        )


def _check_seeds(args) -> None:
    """`--seeds` and `--outdir` come together, into a folder keras-dcgan
    may write (`latent.check_seed_folder`)."""
    from keras_dcgan.errors import DataError
    from keras_dcgan.generator import latent

    if args.seeds is None:
        raise DataError(
            "--outdir is for --seeds' PNGs; add --seeds (e.g. 0-49999), or "
            "use --output FILE.png for a grid."
        )
    if not args.outdir:
        raise DataError(
            "--seeds writes one PNG per seed into a folder; name it with --outdir DIR."
        )
    if args.save_latents:
        raise DataError(
            "--save-latents is for --output's images; --seeds names each "
            "image's latent already (its seed)."
        )
    latent.check_seed_folder(args.outdir, args.seeds)


def run_sample(args) -> int:
    from keras_dcgan import runs, visualize
    from keras_dcgan.generator import latent

    generator = runs.load_generator(args.run, args.checkpoint, args.generator)
    if args.seeds is not None:
        count = latent.save_seed_images(generator, args.seeds, args.outdir)
        logger.info("Wrote %d images to %s, one per seed.", count, args.outdir)
        return 0
    z = latent.sample_latents(args.num, generator.input_shape[-1], args.seed)
    images = latent.generate(generator, z)
    visualize.save_images(images, args.output)
    logger.info("Wrote %d images to %s.", len(images), args.output)
    if args.save_latents:
        latent.save_latents(z, args.save_latents)
        logger.info("Wrote their latents to %s (image i = row i).", args.save_latents)
    return 0


def check_export(args) -> None:
    from keras_dcgan.errors import RunError
    from keras_dcgan.runs.ownership import enclosing_run

    if args.output is not None:
        if args.format == "saved_model":
            raise RunError(
                f"--output {args.output}: a SavedModel is a folder of versions; "
                "give --output-dir BASE, or --format tflite for one file."
            )
        args.format = "tflite"
        common.check_output("--output", args.output, (".tflite",))
        if os.path.lexists(args.output):
            raise RunError(
                f"--output {args.output} exists already; it is not replaced. "
                "Name a new file, or move it away."
            )
        return
    args.format = args.format or "saved_model"
    if not args.output_dir:
        raise RunError("--output-dir is empty; name the model's base folder.")
    run = enclosing_run(os.path.join(args.output_dir, "1"))
    if run is not None:
        raise RunError(
            f"--output-dir {args.output_dir} is inside the run {run}, which "
            "holds only what training writes; export outside it."
        )
    path = os.path.join(args.output_dir, "generator.tflite")
    if args.format == "tflite" and os.path.lexists(path):
        raise RunError(
            f"{path} exists already; choose another --output-dir or remove it "
            "first (or name the file: --output FILE.tflite)."
        )
    common.check_run_to_read(args.run, args.checkpoint)


def run_export(args) -> int:
    from keras_dcgan import runs
    from keras_dcgan.generator import export

    generator = runs.load_generator(args.run, args.checkpoint, args.generator)
    if args.format == "tflite":
        path = export.export_tflite(
            generator,
            args.output or os.path.join(args.output_dir, "generator.tflite"),
        )
    else:
        path = export.export_saved_model(
            generator, args.output_dir, args.version, args.max_batch
        )
    print(path)
    return 0


def check_interpolate(args) -> None:
    _check_picture(args, (".png", ".gif"))
    from keras_dcgan.generator import explore  # imports TensorFlow

    explore.check_grid(args.rows, args.steps)


def run_interpolate(args) -> int:
    from keras_dcgan import runs
    from keras_dcgan.generator import explore

    generator = runs.load_generator(args.run, args.checkpoint, args.generator)
    walks = explore.interpolation_grid(
        generator, args.rows, args.steps, args.method, args.seed
    )
    explore.save_interpolation(walks, args.output)
    logger.info(
        "Wrote %d %s walks of %d steps to %s.",
        args.rows,
        args.method,
        args.steps,
        args.output,
    )
    return 0


def check_arithmetic(args) -> None:
    _check_picture(args, (".png",))
    common.check_input_exists(
        "--latents",
        args.latents,
        "write one with `keras-dcgan sample RUN --save-latents FILE.npy`",
    )
    from keras_dcgan.generator import explore  # imports TensorFlow

    explore.check_groups(args.plus, args.minus)


def run_arithmetic(args) -> int:
    from keras_dcgan import runs
    from keras_dcgan.generator import explore, latent

    generator = runs.load_generator(args.run, args.checkpoint, args.generator)
    z = latent.load_latents(args.latents, generator.input_shape[-1])
    result = explore.latent_arithmetic(
        z, args.plus, args.minus, args.variations, args.noise, args.seed
    )
    explore.save_arithmetic(generator, result, args.output)
    logger.info(
        "Wrote the arithmetic of %d groups to %s.", len(result.groups), args.output
    )
    return 0


def run_nearest(args) -> int:
    import numpy as np

    from keras_dcgan import runs
    from keras_dcgan.generator import latent, nearest

    generator = runs.load_generator(args.run, args.checkpoint, args.generator)
    size, channels = generator.output_shape[1], generator.output_shape[-1]
    source = common.load_source_images(args, size, channels)
    train = np.concatenate(list(source.dataset.batch(4096).as_numpy_iterator()))
    samples = latent.generate(
        generator, latent.sample_latents(args.num, generator.input_shape[-1], args.seed)
    )
    indices, distances = nearest.nearest_neighbours(samples, train, args.neighbours)
    nearest.save_nearest(samples, train, indices, args.output)
    reference = nearest.training_distances(train, seed=args.seed)
    print(
        f"mean distance sample -> nearest training image: "
        f"{distances[:, 0].mean():.3f}\n"
        f"mean distance training image -> nearest other training image: "
        f"{reference['nearest']:.3f}\n"
        f"mean distance between two random training images: "
        f"{reference['pairwise']:.3f}"
    )
    return 0


def check_nearest(args) -> None:
    _check_picture(args, (".png",))
    common.check_input_exists("--data", args.data)


HANDLERS = {
    "sample": run_sample,
    "export": run_export,
    "interpolate": run_interpolate,
    "arithmetic": run_arithmetic,
    "nearest": run_nearest,
}
CHECKS = {
    "sample": check_sample,
    "export": check_export,
    "interpolate": check_interpolate,
    "arithmetic": check_arithmetic,
    "nearest": check_nearest,
}
# The `examples:` epilog of each command's --help (`cli.build_parser`).
EPILOGS = {
    "sample": """examples:
  keras-dcgan sample runs/mnist --output samples.png
  keras-dcgan sample runs/mnist --num 16 --seed 7 --output seven.png
  keras-dcgan sample runs/mnist --checkpoint best --output best.png
  keras-dcgan sample runs/mnist --num 1000 --output fakes.npz
  keras-dcgan sample runs/mnist --save-latents z.npy --output grid.png
""",
    "export": """examples:
  keras-dcgan export runs/mnist --output-dir /srv/models/dcgan
  keras-dcgan export runs/mnist --output-dir /srv/models/dcgan --version 2
  keras-dcgan export runs/mnist --output-dir phone --format tflite
""",
}
