"""Step-for-step parity of keras_dcgan's recipe with the PyTorch reference.

The command line of the harness (see the package's docstring), from the
repository root:

    python -m benchmarks.parity --width 8 --latent 8 --batch 8 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .compare import TOLERANCE
from .lockstep import run_parity
from .recipe import VARIANTS
from .report import machine, summary_lines


def build_parser() -> argparse.ArgumentParser:
    """The harness's options (defaults: the library's default widths)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.parity", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--width", type=int, default=64, help="G and D widths")
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="array file (default: digits)")
    parser.add_argument(
        "--library", choices=("composite", "dcgan"), default="composite"
    )
    parser.add_argument(
        "--discriminator-update",
        choices=("separate", "summed"),
        default="separate",
        help="the library's D update (DCGANConfig.discriminator_update); "
        "summed is matched by the variant d_update=summed",
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=sorted(VARIANTS),
        default=list(VARIANTS),
        help="PyTorch recipes to run (default: all)",
    )
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--state-every", type=int, default=1)
    parser.add_argument("--json", help="write the full report here")
    return parser


def main(argv=None) -> None:
    """Runs the harness; prints the summary, writes the report with --json.

    Args:
        argv: The arguments (default: the command line's).
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras_dcgan  # noqa: F401  (first: it picks TensorFlow's CPU kernels)
    from keras_dcgan.config import DCGANConfig

    config = DCGANConfig(
        image_size=28,
        channels=1,
        latent_dim=args.latent,
        generator_width=args.width,
        discriminator_width=args.width,
        batch_size=args.batch,
        seed=args.seed,
        discriminator_update=args.discriminator_update,
    )
    report = run_parity(
        config,
        args.steps,
        {name: VARIANTS[name] for name in args.variants},
        args.library,
        args.data,
        args.tolerance,
        args.state_every,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    report["machine"] = machine()
    print("\n".join(summary_lines(report)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
