"""Mean and spread over seeds, tables and figures for `quality_mnist.py`.

A variant is (config, generator, sampling): e.g. `default/ema/moving` is the
library's default networks sampled from the generator average in inference
mode. For each variant and budget, every metric's mean, standard deviation
(ddof 1) and range over the seeds. Two variants differ at a budget only when
their ranges over the seeds do not overlap; otherwise it is a tie.
"""

import csv
import json
import os

import numpy as np

METRICS = ("fid", "kid", "score", "precision", "recall")
LOWER_IS_BETTER = {"fid", "kid"}


def history_seconds(run_dir):
    """{step: training seconds when that step ended}, from history.csv.

    A resumed session's clock starts again at 0; its seconds are added to
    the previous session's last.
    """
    found, offset, last = {}, 0.0, 0.0
    with open(os.path.join(run_dir, "history.csv")) as f:
        for row in csv.DictReader(f):
            seconds = float(row["seconds"]) + offset
            if seconds < last:
                offset, seconds = last, seconds + last
            found[int(row["step"])] = last = seconds
    return found


def variant(row):
    return f"{row['config']}/{row['generator']}/{row['sampling']}"


def summarize(rows):
    """{variant: {epoch: {metric: {mean, std, min, max, n}, steps, seconds}}}."""
    groups = {}
    for row in rows:
        groups.setdefault(variant(row), {}).setdefault(row["epoch"], []).append(row)
    summary = {}
    for name, by_epoch in sorted(groups.items()):
        summary[name] = {}
        for epoch, group in sorted(by_epoch.items()):
            entry = {"steps": group[0]["step"], "seeds": [r["seed"] for r in group]}
            for metric in METRICS + ("seconds",):
                values = np.array(
                    [r[metric] for r in group if r.get(metric) is not None], float
                )
                if len(values):
                    entry[metric] = {
                        "mean": float(values.mean()),
                        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                        "min": float(values.min()),
                        "max": float(values.max()),
                        "n": int(len(values)),
                    }
            summary[name][str(epoch)] = entry
    return summary


def verdict(a, b, metric):
    """'better', 'worse' or 'tie' for a against b: a difference counts only
    when the two ranges over the seeds do not overlap."""
    lower = metric in LOWER_IS_BETTER
    if a["max"] < b["min"]:
        return "better" if lower else "worse"
    if a["min"] > b["max"]:
        return "worse" if lower else "better"
    return "tie"


def markdown_table(summary, variants=None):
    lines = [
        "| variant | epochs | steps | seeds | FID | KID | classifier score "
        "| precision | recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in variants or sorted(summary):
        for epoch, entry in summary.get(name, {}).items():
            cells = [
                f"{entry[m]['mean']:.3g} ± {entry[m]['std']:.2g}" if m in entry else "-"
                for m in METRICS
            ]
            lines.append(
                f"| {name} | {epoch} | {entry['steps']} | {len(entry['seeds'])} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def comparison_table(summary, mine, reference):
    """Each budget: mine against the reference, ratio of mean FID, verdicts."""
    lines = [
        f"| epochs | FID {mine} / {reference} | ratio | FID | KID | recall "
        "| precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for epoch, a in summary.get(mine, {}).items():
        b = summary.get(reference, {}).get(epoch)
        if b is None:
            continue
        verdicts = [
            verdict(a[m], b[m], m) for m in ("fid", "kid", "recall", "precision")
        ]
        lines.append(
            f"| {epoch} | {a['fid']['mean']:.2f} / {b['fid']['mean']:.2f} | "
            f"{a['fid']['mean'] / b['fid']['mean']:.2f} | "
            + " | ".join(verdicts)
            + " |"
        )
    return "\n".join(lines)


def plot(summary, variants, path, num):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.6))
    for name in variants:
        entries = summary.get(name)
        if not entries:
            continue
        steps = [e["steps"] for e in entries.values()]
        mean = [e["fid"]["mean"] for e in entries.values()]
        low = [e["fid"]["min"] for e in entries.values()]
        high = [e["fid"]["max"] for e in entries.values()]
        style = "--" if name.startswith("pytorch") else "-"
        (line,) = ax.plot(steps, mean, style, marker="o", label=name)
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("training steps (78 per epoch, batch 128)")
    ax.set_ylabel("FID, MNIST classifier features (lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"FID of {num:,} samples: mean over seeds, band = min..max")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_grids(work_dir, images_dir, seed=0):
    """Sample grids (last budget, `seed`) of the plotted variants."""
    from keras_dcgan.visualize import image_grid, save_png

    folder = os.path.join(work_dir, "grids")
    wanted = {
        v.rsplit("/", 1)[0].replace("/", "_") + f"_seed{seed}.npz" for v in PLOTTED
    }
    written = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name in wanted:
            with np.load(os.path.join(folder, name)) as f:
                grid = image_grid(f["x"], columns=8)
            out = os.path.join(images_dir, "quality_" + name[: -len(".npz")] + ".png")
            save_png(grid, out)
            written.append(out)
    return written


PLOTTED = (
    "default/raw/moving",
    "default/ema/moving",
    "pytorch_reference/raw/moving",
    "keras_tutorial/raw/moving",
    "dcgan_conv/raw/moving",
)


def write(results, work_dir, output_dir):
    """quality_mnist.json, the FID figure, sample grids and printed tables."""
    images = os.path.join(output_dir, "images")
    os.makedirs(images, exist_ok=True)
    with open(os.path.join(output_dir, "quality_mnist.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    summary = results["summary"]
    plot(
        summary,
        PLOTTED,
        os.path.join(images, "quality_mnist.png"),
        results["num_samples"],
    )
    save_grids(work_dir, images)
    print(markdown_table(summary))
    for mine, reference in COMPARISONS:
        print()
        print(comparison_table(summary, mine, reference))


# (variant, against): the comparisons docs/QUALITY.md discusses.
COMPARISONS = (
    ("default/raw/moving", "pytorch_reference/raw/moving"),
    ("default/ema/moving", "pytorch_reference/raw/moving"),
    ("default/ema/moving", "default/raw/moving"),
    ("default/raw/batch", "default/raw/moving"),
    ("default/raw/recalibrated", "default/raw/moving"),
    ("default/ema/batch", "default/ema/moving"),
    ("default/ema/recalibrated", "default/ema/moving"),
    ("keras_tutorial/raw/moving", "default/raw/moving"),
    ("dcgan_conv/raw/moving", "default/raw/moving"),
    ("keras_tutorial/raw/moving", "pytorch_reference/raw/moving"),
    ("keras_tutorial/ema/moving", "pytorch_reference/raw/moving"),
    ("keras_tutorial/ema/moving", "keras_tutorial/raw/moving"),
    ("dcgan_conv/ema/moving", "dcgan_conv/raw/moving"),
)
