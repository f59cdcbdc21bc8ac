"""Options of the recipe against its defaults, in two feature spaces, per
step and per second of training.

What: trains the library on the 10,000 real MNIST test images with one
option changed at a time (`ARMS`), on every seed of `--seeds`, and scores
each run at every epoch with FID, KID and precision/recall in the two
feature spaces of `quality_two_spaces.py` (its judges, in the same
`--work-dir`; the `default` arm is its library runs). Then it times a
training step of each arm, the arms interleaved in one process, so that
the comparison at equal compute uses costs measured side by side on one
machine rather than wall-clock totals of runs that may have shared it.

An arm differs from the default only where both spaces agree and the seed
ranges (min..max) do not overlap; otherwise it is a tie.

At equal compute: an option that costs k times the default's step is also
judged against the default's budget nearest k times its own epochs (within
15 %), where `--default-epochs` scored the default there; e.g. an option of
2x the cost at 10 and 15 epochs against the default at 20 and 30.

How (from the repository root; 2-core CPU: about 4 minutes a run):

    python -m benchmarks.quality_options --data mnist_test_10k.npz \\
        --work-dir /tmp/quality_two_spaces --seeds 0,1,2 --arms ttur,augment,spectral
    python -m benchmarks.quality_options --data mnist_test_10k.npz \\
        --work-dir /tmp/quality_two_spaces --seeds 0,1,2,3,4 --arms conv-output \\
        --epochs 10,15 --default-epochs 10,20,30
"""

import json
import os
import time

import numpy as np

from benchmarks.quality_sampling import score_images
from benchmarks.quality_torch import EVAL_SEED, LATENT, sample_latents
from benchmarks.quality_two_spaces import (
    SPACES,
    STEPS_PER_EPOCH,
    int_list,
    judged,
    judges,
    parse_scoring_args,
    scoring_parser,
    summarize,
    train_library,
)

# One change each from the defaults (DCGANConfig fields).
ARMS = {
    "default": {},
    # TTUR: D faster than G, the rates of Heusel et al.'s DCGAN experiments.
    "ttur": {"learning_rate": 1e-4, "discriminator_learning_rate": 4e-4},
    # DiffAugment's policy for small data sets of grey images (its colour
    # changes are mostly saturation, which does nothing to one channel).
    "augment": {"augment": "translation,cutout"},
    # Spectral normalization in D instead of BatchNorm (Miyato et al.).
    "spectral": {"discriminator_norm": "spectral"},
    # TTUR without slowing G: only D's rate doubled.
    "ttur-same-g": {"discriminator_learning_rate": 4e-4},
    # DiffAugment's gentler half: shifts only, no cut-out square.
    "augment-translation": {"augment": "translation"},
    # D's update as the PyTorch reference's: one Adam step on both batches.
    "summed": {"discriminator_update": "summed"},
    # The keras-tutorial preset's layers, one at a time.
    "leaky-g": {"generator_activation": "leaky_relu"},
    "bn-after": {"batch_norm_position": "after"},
    "conv-output": {"generator_output": "conv"},
    # The two ingredients with the best means per step, together.
    "conv-bn-after": {"generator_output": "conv", "batch_norm_position": "after"},
}


def run_dir(work_dir, arm, seed):
    folder = "library" if arm == "default" else f"option_{arm}"
    return os.path.join(work_dir, folder, f"seed{seed}")


def epochs_of(arm, args):
    """The budgets `arm` is scored at: `--default-epochs` for the default."""
    return args.default_epochs if arm == "default" else args.epochs


def score_arm(arm, seed, args, spaces, z):
    """Score rows of one arm's run at each of its epoch budgets."""
    from keras_dcgan import generate, load_generator

    run = run_dir(args.work_dir, arm, seed)
    print(f"== {arm}, seed {seed}", flush=True)
    epochs = epochs_of(arm, args)
    train_library(seed, epochs, args.data, run, **ARMS[arm])
    rows = []
    for epoch in epochs:
        generator = load_generator(run, checkpoint=epoch * STEPS_PER_EPOCH)
        images = generate(generator, z)
        for space, (extractor, real) in spaces.items():
            row = dict(recipe=arm, sampling="moving", seed=seed, epoch=epoch)
            row.update(space=space, train_seconds=0.0)
            row.update(score_images(images, real, extractor))
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def step_seconds(arms, steps, rounds=3):
    """Median seconds of one training step per arm, the arms interleaved
    (`rounds` blocks of `steps` each) so that they share the machine alike."""
    import dataclasses

    import keras

    from keras_dcgan import DCGAN, DCGANConfig

    real = keras.random.uniform((128, 28, 28, 1), -1.0, 1.0, seed=0)
    base = DCGANConfig(image_size=28, channels=1, seed=0)
    gans = {arm: DCGAN(dataclasses.replace(base, **ARMS[arm])) for arm in arms}
    times = {arm: [] for arm in arms}
    for _ in range(rounds + 1):  # the first block traces: not counted
        for arm, gan in gans.items():
            start = time.perf_counter()
            for _ in range(steps):
                gan.train_step(real)
            times[arm].append((time.perf_counter() - start) / steps)
    return {arm: float(np.median(t[1:])) for arm, t in times.items()}


def equal_compute_epoch(epoch, cost, default_epochs, tolerance=0.15):
    """The default's budget of about the compute of `epoch` epochs at `cost`
    times the default's cost per step (within `tolerance`), or None."""
    budget = epoch * cost
    match = min(default_epochs, key=lambda d: abs(d - budget), default=None)
    if match is None or abs(match - budget) > tolerance * budget:
        return None
    return match


def compare(summary, costs):
    """Each arm against the default at the same epoch (`basis` "steps") and
    at the default's epoch of equal compute (`basis` "compute", where the
    default was scored there): per metric, the verdict in each space and
    the one that counts; with the arm's cost per step."""
    index = {(s["recipe"], s["epoch"], s["space"]): s for s in summary}
    default_epochs = sorted({e for a, e, _ in index if a == "default"})
    out = []
    for arm, epoch, space in sorted(index):
        if arm == "default" or space != SPACES[0]:
            continue
        cost = costs.get(arm, 0) / costs.get("default", 1)
        against = {"steps": epoch if epoch in default_epochs else None}
        if costs:
            against["compute"] = equal_compute_epoch(epoch, cost, default_epochs)
        for basis, default_epoch in against.items():
            if default_epoch is not None:
                out += judged(
                    {s: index[(arm, epoch, s)] for s in SPACES},
                    {s: index[("default", default_epoch, s)] for s in SPACES},
                    arm=arm,
                    epoch=epoch,
                    basis=basis,
                    default_epoch=default_epoch,
                    cost_per_step=cost,
                )
    return out


def markdown(report):
    """Each arm's FID and recall per space, mean ± sd [min..max], its cost
    per step against the default's, and the verdicts that count: at equal
    steps, and at the default's epoch of equal compute."""
    index = {(s["recipe"], s["epoch"], s["space"]): s for s in report["summary"]}
    found = {
        (v["arm"], v["epoch"], v.get("basis", "steps"), v["metric"]): v
        for v in report["verdicts"]
    }
    costs = report["step_seconds"]
    lines = [
        "| arm | epochs | cost per step | space | FID | recall | FID verdict "
        "| recall verdict | at equal compute: FID, recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, epoch, space in sorted(index, key=lambda k: (k[0] != "default", k)):
        entry = index[(arm, epoch, space)]
        cells = [
            f"{entry[m]['mean']:.3g} ± {entry[m]['sd']:.2g} "
            f"[{entry[m]['min']:.3g}..{entry[m]['max']:.3g}]"
            for m in ("fid", "recall")
        ]
        same, equal = (
            [found.get((arm, epoch, basis, m)) for m in ("fid", "recall")]
            for basis in ("steps", "compute")
        )
        cells += [v[space] if v else "" for v in same]
        cells.append(
            f"{equal[0][space]}, {equal[1][space]} (default at "
            f"{equal[0]['default_epoch']} epochs)"
            if equal[0]
            else ""
        )
        cost = f"{costs[arm] / costs['default']:.2f}x" if arm in costs else ""
        lines.append(
            f"| {arm} | {epoch} | {cost} | {space} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def parse_args():
    parser = scoring_parser(
        __doc__.split("\n")[0], "10", "0,1,2", "docs/quality_options.json"
    )
    parser.add_argument(
        "--arms", default="ttur,augment,spectral", help="options compared"
    )
    parser.add_argument(
        "--default-epochs",
        help="the default arm's epoch budgets (none: --epochs); score it where "
        "an option's epochs cost the same compute, e.g. 20 for a 2x option's 10",
    )
    parser.add_argument("--time-steps", type=int, default=20, help="steps timed")
    args = parse_scoring_args(parser)
    args.default_epochs = (
        int_list(args.default_epochs) if args.default_epochs else args.epochs
    )
    args.arms = ["default"] + [a for a in args.arms.split(",") if a != "default"]
    unknown = sorted(set(args.arms) - set(ARMS))
    if unknown:
        parser.error(f"no arm {', '.join(unknown)}; use {', '.join(ARMS)}")
    return args


def main():
    from benchmarks.train_throughput import machine

    args = parse_args()
    if args.markdown:
        with open(args.json) as f:
            print(markdown(json.load(f)))
        return
    start = time.time()
    spaces, accuracy = judges(args.data, args.work_dir)
    z = sample_latents(args.num, LATENT, EVAL_SEED)
    rows, costs = [], {}

    def write(done):
        summary = summarize(rows)
        report = dict(
            data=os.path.basename(args.data),
            arms={arm: ARMS[arm] for arm in args.arms},
            seeds=args.seeds,
            seeds_done=done,
            epochs=args.epochs,
            default_epochs=args.default_epochs,
            num_samples=args.num,
            judges=accuracy,
            step_seconds=costs,
            machine=machine(),
            date=time.strftime("%Y-%m-%d"),
            results=rows,
            summary=summary,
            verdicts=compare(summary, costs),
            total_seconds=round(time.time() - start, 1),
        )
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)

    for i, seed in enumerate(args.seeds):
        for arm in args.arms:
            rows += score_arm(arm, seed, args, spaces, z)
        write(args.seeds[: i + 1])  # a partial report after every seed
    costs.update(step_seconds(args.arms, args.time_steps))
    write(args.seeds)


if __name__ == "__main__":
    main()
