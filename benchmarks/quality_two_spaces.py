"""The library's defaults against the PyTorch reference, judged in two feature spaces.

What: trains the library with its default flags and the PyTorch reference
loop (`quality_torch.py`) on the 10,000 real MNIST test images, on every
seed of `--seeds`, and scores both at each epoch budget with FID, KID and
precision/recall in two independent feature spaces:

- `cnn`: the project's domain classifier (`train_classifier`: two conv
  blocks, 128-unit features), trained on all images with a 10 % hold-out,
  as in `quality_mnist.py`;
- `mlp`: a fully connected network (784-512-256-10, no convolution, 256-unit
  features), trained here on the odd-indexed half of the images only, with
  its own seed, and used by nothing else in the project.

A difference counts only where the two recipes' seed ranges (min..max) do
not overlap in both spaces; otherwise it is a tie.

Samplings scored: the library's generator in inference mode (`moving`, what
`keras-dcgan sample` does); the reference in `eval()` mode (`moving`) and in
`train()` mode (`batch`: batch statistics, what pytorch/examples' own
sample grids use).

How (from the repository root; on 2 vCPUs of a Zen 3 EPYC, one seed of
both recipes takes about 12 minutes at 10 epochs and 35 at 30):

    pip install torch==2.13.0
    python -m benchmarks.quality_two_spaces --data mnist_test_10k.npz \\
        --work-dir /tmp/quality_two_spaces --seeds 0,1,2,3,4 --epochs 10,30

Runs and scores are kept in `--work-dir`; a seed already trained is scored
again from its checkpoints and samples, not retrained.
"""

import argparse
import json
import math
import os
import time

import numpy as np

from benchmarks.quality_report import history_seconds
from benchmarks.quality_sampling import score_images
from benchmarks.quality_torch import (
    EVAL_SEED,
    LATENT,
    ROOT,
    reference_samples,
    sample_latents,
)

BATCH, STEPS_PER_EPOCH = 128, 10_000 // 128
SPACES = ("cnn", "mlp")
METRICS = ("fid", "kid", "precision", "recall")
MLP_SEED = 7


def repo_path(path):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(ROOT, path))


# --------------------------------------------------------------------------
# The two judges.
# --------------------------------------------------------------------------


def train_mlp(x, y, path):
    """Fits the second judge on the odd-indexed half; returns its hold-out
    accuracy on the even-indexed half."""
    import keras

    keras.utils.set_random_seed(MLP_SEED)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(256, activation="relu", name="features"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[1::2], y[1::2], epochs=15, batch_size=64, verbose=0)
    accuracy = model.evaluate(x[0::2], y[0::2], verbose=0)[1]
    model.save(path)
    return float(accuracy)


def judges(data, work_dir):
    """{space: (extractor, real statistics)} and the judges' accuracies."""
    from keras_dcgan.quality.classifier import load_labelled, train_classifier
    from keras_dcgan.quality.evaluation import real_stats
    from keras_dcgan.quality.features import ClassifierExtractor

    x, y = load_labelled(data=data)
    paths = {s: os.path.join(work_dir, f"judge_{s}.keras") for s in SPACES}
    accuracy_path = os.path.join(work_dir, "judges.json")
    accuracy = {}
    if os.path.exists(accuracy_path):
        with open(accuracy_path) as f:
            accuracy = json.load(f)
    if not os.path.exists(paths["cnn"]):
        train_classifier(x, y, paths["cnn"], epochs=5, seed=0, source=data)
    if not os.path.exists(paths["mlp"]):
        accuracy["mlp_holdout_accuracy"] = train_mlp(x, y, paths["mlp"])
        with open(accuracy_path, "w") as f:
            json.dump(accuracy, f)
    out = {}
    for space in SPACES:
        extractor = ClassifierExtractor(paths[space])
        real = real_stats(x, extractor, num=len(x), seed=EVAL_SEED, source=data)
        out[space] = (extractor, real)
    return out, accuracy


# --------------------------------------------------------------------------
# The two recipes.
# --------------------------------------------------------------------------


def train_library(seed, epochs, data, run, **fields):
    """The library with its default flags (MNIST shape, 28 px), but for
    `fields` of `DCGANConfig`."""
    from keras_dcgan import DCGANConfig, load_images, train
    from keras_dcgan.runs.selection import checkpoint_steps

    last = max(epochs) * STEPS_PER_EPOCH
    steps = checkpoint_steps(run) if os.path.exists(run) else {}
    if last in steps:
        return
    # A checkpoint at every budget scored: every `gcd` epochs, all kept.
    every = math.gcd(*epochs)
    config = DCGANConfig(
        image_size=28,
        channels=1,
        seed=seed,
        epochs=max(epochs),
        checkpoint_every=every * STEPS_PER_EPOCH,
        max_checkpoints=len(epochs) + max(epochs) // every,
        **fields,
    )
    # A shorter run of the same seed is continued, not redone: the checkpoint
    # holds everything a step depends on, the data order included
    # (RELIABILITY 4), so 10 epochs then 20 more are one 30-epoch run.
    resume = bool(steps) and max(steps) < last
    print(f"== training the library, seed {seed}, resume={resume}", flush=True)
    images = load_images(28, 1, data=data)
    train(
        config,
        images,
        run,
        resume=resume,
        overwrite=os.path.exists(run) and not resume,
        verbose=2,
    )


def library_samples(seed, epochs, data, work_dir, z):
    """{(epoch, sampling): uint8 images, seconds} of the library's run."""
    from keras_dcgan import load_generator
    from keras_dcgan.generator.latent import generate

    run = os.path.join(work_dir, "library", f"seed{seed}")
    train_library(seed, epochs, data, run)
    seconds = history_seconds(run)
    out = {}
    for epoch in epochs:
        step = epoch * STEPS_PER_EPOCH
        generator = load_generator(run, checkpoint=step)
        out[(epoch, "moving")] = (generate(generator, z), seconds.get(step))
    return out


def torch_samples(seed, epochs, data, work_dir, num):
    run = os.path.join(work_dir, "reference", f"seed{seed}")
    samples = reference_samples(data, run, seed, epochs, num)
    return {key: (x, entry["seconds"]) for key, (x, entry) in samples.items()}


# --------------------------------------------------------------------------
# Scores and verdicts.
# --------------------------------------------------------------------------


def score_seed(seed, args, spaces):
    rows = []
    z = sample_latents(args.num, LATENT, EVAL_SEED)
    recipes = {
        "library": lambda: library_samples(
            seed, args.epochs, args.data, args.work_dir, z
        ),
        "reference": lambda: torch_samples(
            seed, args.epochs, args.data, args.work_dir, args.num
        ),
    }
    for recipe, samples in recipes.items():
        for (epoch, sampling), (x, seconds) in samples().items():
            for space, (extractor, real) in spaces.items():
                row = dict(recipe=recipe, sampling=sampling, seed=seed, epoch=epoch)
                row.update(space=space, train_seconds=seconds)
                row.update(score_images(x, real, extractor))
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def summarize(rows):
    """Mean, sd, min and max per (recipe, sampling, epoch, space, metric)."""
    groups = {}
    for row in rows:
        key = (row["recipe"], row["sampling"], row["epoch"], row["space"])
        groups.setdefault(key, []).append(row)
    summary = []
    for (recipe, sampling, epoch, space), group in sorted(groups.items()):
        entry = dict(recipe=recipe, sampling=sampling, epoch=epoch, space=space)
        entry["seeds"] = sorted(r["seed"] for r in group)
        for metric in METRICS + ("train_seconds",):
            values = np.array([r[metric] for r in group], dtype=float)
            entry[metric] = dict(
                mean=float(values.mean()),
                sd=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                min=float(values.min()),
                max=float(values.max()),
            )
        summary.append(entry)
    return summary


def verdict(mine, theirs, metric):
    """'better', 'worse' or 'tie' for `mine` (ranges apart, or not)."""
    lower_is_better = metric in ("fid", "kid")
    a, b = mine[metric], theirs[metric]
    if a["max"] < b["min"]:
        return "better" if lower_is_better else "worse"
    if a["min"] > b["max"]:
        return "worse" if lower_is_better else "better"
    return "tie"


def judged(mine, theirs, **fields):
    """For each metric, `mine` against `theirs` ({space: summary entry}):
    the verdict in each space and the one that counts, with `fields`."""
    rows = []
    for metric in METRICS:
        per_space = {s: verdict(mine[s], theirs[s], metric) for s in SPACES}
        same = len(set(per_space.values())) == 1
        counts = per_space[SPACES[0]] if same else "tie"
        rows.append(dict(fields, metric=metric, **per_space, counts=counts))
    return rows


def verdicts(summary):
    """The library's `moving` against each reference sampling, per epoch and
    metric: the verdict in each space and the one that counts."""
    index = {(s["recipe"], s["sampling"], s["epoch"], s["space"]): s for s in summary}
    out = []
    for recipe, sampling, epoch, space in sorted(index):
        if recipe != "reference" or space != SPACES[0]:
            continue
        out += judged(
            {s: index[("library", "moving", epoch, s)] for s in SPACES},
            {s: index[("reference", sampling, epoch, s)] for s in SPACES},
            epoch=epoch,
            reference_sampling=sampling,
        )
    return out


def markdown(report):
    """The report's tables: each metric's mean +- sd [min..max] per recipe,
    and the verdict of each space and the one that counts."""

    def cell(entry, metric):
        m = entry[metric]
        return f"{m['mean']:.3g} ± {m['sd']:.2g} [{m['min']:.3g}..{m['max']:.3g}]"

    index = {
        (s["recipe"], s["sampling"], s["epoch"], s["space"]): s
        for s in report["summary"]
    }
    found = {
        (v["epoch"], v["reference_sampling"], v["metric"]): v
        for v in report["verdicts"]
    }
    lines = [
        "| epochs | reference sampling | metric | space | library | reference "
        "| verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for (epoch, sampling, metric), v in sorted(found.items()):
        for space in SPACES:
            mine = index[("library", "moving", epoch, space)]
            theirs = index[("reference", sampling, epoch, space)]
            lines.append(
                f"| {epoch} | {sampling} | {metric} | {space} | {cell(mine, metric)} "
                f"| {cell(theirs, metric)} | {v[space]} |"
            )
        lines.append(
            f"| {epoch} | {sampling} | {metric} | **both** | | | **{v['counts']}** |"
        )
    return "\n".join(lines)


def scoring_parser(description, epochs, seeds, json_path):
    """The flags every two-space benchmark takes (its own are added after)."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data", help="MNIST .npz with x and y (needed unless --markdown)"
    )
    parser.add_argument(
        "--work-dir", default="/tmp/quality_two_spaces", help="runs and judges"
    )
    parser.add_argument("--epochs", default=epochs, help="epoch budgets scored")
    parser.add_argument("--seeds", default=seeds, help="seeds of every recipe")
    parser.add_argument("--num", type=int, default=5000, help="samples scored")
    parser.add_argument("--json", default=json_path, help="the report")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="train nothing: print the tables of the --json report",
    )
    return parser


def parse_scoring_args(parser):
    """`parser`'s arguments, with paths from the root and lists parsed."""
    args = parser.parse_args()
    if not args.data and not args.markdown:
        parser.error("--data is needed to train and score")
    args.data = repo_path(args.data) if args.data else None
    args.json = repo_path(args.json)
    args.epochs = int_list(args.epochs)
    args.seeds = int_list(args.seeds)
    return args


def int_list(text):
    """ "10,30" -> [10, 30]: sorted, each once."""
    return sorted({int(part) for part in text.split(",")})


def parse_args():
    parser = scoring_parser(
        __doc__.split("\n")[0], "10,30", "0,1,2,3,4", "docs/quality_two_spaces.json"
    )
    return parse_scoring_args(parser)


def main():
    from benchmarks.train_throughput import machine

    args = parse_args()
    if args.markdown:
        with open(args.json) as f:
            print(markdown(json.load(f)))
        return
    start = time.time()
    os.makedirs(args.work_dir, exist_ok=True)
    spaces, accuracy = judges(args.data, args.work_dir)
    rows = []
    for seed in args.seeds:
        rows += score_seed(seed, args, spaces)
        summary = summarize(rows)
        report = dict(
            data=os.path.basename(args.data),
            seeds=args.seeds,
            epochs=args.epochs,
            num_samples=args.num,
            judges=accuracy,
            machine=machine(),
            date=time.strftime("%Y-%m-%d"),
            results=rows,
            summary=summary,
            verdicts=verdicts(summary),
            total_seconds=round(time.time() - start, 1),
        )
        with open(args.json, "w") as f:  # after every seed: a partial report
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
