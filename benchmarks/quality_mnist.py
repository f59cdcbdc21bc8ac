"""Sample quality against training budget, and the defaults it supports.

What: trains DCGANs on the 10,000 real MNIST test images (`mnist_test_10k.npz`,
see README "Training on real data") under several configurations and scores
each at a few epoch budgets with FID, KID, the classifier score (IS with an
MNIST classifier) and precision/recall, all from a domain classifier trained on
the same images by `keras_dcgan.quality.classifier.train_classifier` (what
`keras-dcgan train-classifier` runs).

Configurations (all: 28x28x1, batch 128, latent 100, widths 64, seed 0,
78 steps per epoch):

- `default`: the library's defaults (frozen_bn_stats="batch",
  label_smoothing=0, dropout=0);
- `label_smoothing_0.1`, `dropout_0.3`, `moving_bn`
  (frozen_bn_stats="moving"), `mixed_bfloat16`, `mixed_float16`
  (--precision): one change each;
- `pytorch_reference`: the pytorch/examples `dcgan/main.py` training loop
  (one Adam step on D's summed real+fake gradients, G's step on the same
  fake batch with label 1, Adam(2e-4, (0.5, 0.999)), N(0, 0.02) init) on
  networks of exactly keras_dcgan's 28x28 shapes, in PyTorch (CPU). It runs
  in a subprocess of this script, with 2 threads.

How: each configuration is trained once, to the largest budget, with a
checkpoint at every epoch's end; the checkpoint of each listed epoch is then
restored and its generator scored on `--num` samples (inference mode) from
the same latents, against statistics of all real images computed once. The
wall time at which each epoch ended comes from the run's `history.csv`
(PyTorch: measured the same way, sampling excluded). Runs already in
`--work-dir` are scored, not retrained.

Writes `OUTPUT_DIR/quality_mnist.json` (raw results),
`OUTPUT_DIR/images/quality_mnist.png` (FID against epochs and wall time) and
`OUTPUT_DIR/images/quality_{default,pytorch}.png` (samples at the last
budget). `docs/QUALITY.md` discusses one run of it.

Usage (about 27 minutes for 5,10,20 epochs on a shared 2-core CPU):

    pip install torch   # for pytorch_reference only
    python benchmarks/quality_mnist.py --data mnist_test_10k.npz \\
        --work-dir /tmp/quality_mnist --epochs 5,10,20 --num 5000
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import train_throughput  # (same folder) machine(): the benchmarks' description
from torch_reference import torch_models, weights_init  # (same folder)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS_CONFIGS = {
    "default": {},
    "label_smoothing_0.1": {"label_smoothing": 0.1},
    "dropout_0.3": {"dropout": 0.3},
    "moving_bn": {"frozen_bn_stats": "moving"},
    "mixed_bfloat16": {"precision": "mixed_bfloat16"},
    "mixed_float16": {"precision": "mixed_float16"},
}
TORCH_CONFIG = "pytorch_reference"
ALL_CONFIGS = tuple(KERAS_CONFIGS) + (TORCH_CONFIG,)
BATCH, LATENT, WIDTH, SEED = 128, 100, 64, 0
GRID = 64  # samples in the sample grids


def repo_path(path):
    """Relative paths are relative to the repository root."""
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(REPO, path))


# --------------------------------------------------------------------------
# The PyTorch reference (imported only in its own process).
# --------------------------------------------------------------------------


def torch_worker(args):
    """Trains the PyTorch reference; writes samples at each listed epoch."""
    import torch
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    epochs = sorted(int(e) for e in args.epochs.split(","))
    with np.load(args.data) as f:
        x = f["x"]
    data = torch.from_numpy(
        (x.astype(np.float32) / 127.5 - 1.0)[:, None]
    )  # [N, 1, 28, 28]
    steps_per_epoch = len(data) // BATCH

    netG, netD = torch_models(28, 1, WIDTH, LATENT)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    z_eval = torch.from_numpy(sample_latents(args.num, LATENT, SEED))
    os.makedirs(args.torch_run, exist_ok=True)
    log = {"steps_per_epoch": steps_per_epoch, "epochs": {}}
    elapsed, step = 0.0, 0
    for epoch in range(1, max(epochs) + 1):
        start = time.time()
        netG.train()
        netD.train()
        order = torch.from_numpy(
            np.random.default_rng(SEED * 100_003 + epoch).permutation(len(data))
        )
        for i in range(steps_per_epoch):  # the incomplete batch is dropped
            real = data[order[i * BATCH : (i + 1) * BATCH]]
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z))).
            netD.zero_grad()
            label = torch.full((BATCH,), real_label)
            output = netD(real).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(BATCH, LATENT)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optD.step()
            # (2) Update G: maximize log(D(G(z))), on the same fakes.
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optG.step()
            step += 1
        elapsed += time.time() - start
        print(
            f"torch epoch {epoch}: {elapsed:.1f} s, "
            f"D {errD_real.item() + errD_fake.item():.3f}, "
            f"G {errG.item():.3f}",
            flush=True,
        )
        if epoch in epochs:
            samples = {}
            with torch.no_grad():
                netG.eval()  # moving statistics, like Keras' training=False
                samples["eval"] = torch.cat(
                    [netG(z_eval[i : i + 500]) for i in range(0, len(z_eval), 500)]
                )
                # Train mode: batch statistics over batches of 128. Those
                # passes also move BN's running statistics, so the state
                # from before them is put back afterwards.
                saved = {k: v.clone() for k, v in netG.state_dict().items()}
                netG.train()
                samples["train"] = torch.cat(
                    [netG(z_eval[i : i + BATCH]) for i in range(0, len(z_eval), BATCH)]
                )
                netG.load_state_dict(saved)
            for mode, images in samples.items():
                images = images.permute(0, 2, 3, 1).numpy()
                uint8 = np.clip(np.round((images + 1.0) * 127.5), 0, 255)
                np.savez_compressed(
                    os.path.join(args.torch_run, f"samples_{mode}_{epoch:04d}.npz"),
                    x=uint8.astype(np.uint8),
                )
            log["epochs"][str(epoch)] = {"step": step, "seconds": elapsed}
            torch.save(
                netG.state_dict(), os.path.join(args.torch_run, f"netG_{epoch:04d}.pt")
            )
    with open(os.path.join(args.torch_run, "log.json"), "w") as f:
        json.dump(log, f, indent=2)


def sample_latents(num, latent_dim, seed):
    """Same as keras_dcgan.generator.latent.sample_latents (no TF import needed)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((num, latent_dim)).astype(np.float32)


# --------------------------------------------------------------------------
# Training and scoring.
# --------------------------------------------------------------------------


def keras_config(name, max_epoch):
    from keras_dcgan import DCGANConfig

    steps_per_epoch = 10_000 // BATCH
    return DCGANConfig(
        image_size=28,
        channels=1,
        batch_size=BATCH,
        latent_dim=LATENT,
        generator_width=WIDTH,
        discriminator_width=WIDTH,
        seed=SEED,
        epochs=max_epoch,
        checkpoint_every=steps_per_epoch,
        max_checkpoints=max_epoch + 1,
        **KERAS_CONFIGS[name],
    )


def epoch_seconds(run_dir, steps):
    """Wall seconds at which each step in `steps` ended, from history.csv."""
    found = {}
    with open(os.path.join(run_dir, "history.csv")) as f:
        for row in csv.DictReader(f):
            if int(row["step"]) in steps:
                found[int(row["step"])] = float(row["seconds"])
    return found


def score_images(images, real, extractor, seed, batch_size=100):
    """Scores uint8 images [N, 28, 28, 1] the way `evaluate_generator` does
    (same extractor, FeatureStats and `evaluation._score`)."""
    from keras_dcgan.quality import evaluation, stats

    stats = stats.FeatureStats(seed=seed)
    probabilities = []
    for i in range(0, len(images), batch_size):
        features, probs = extractor(images[i : i + batch_size])
        stats.update(features)
        probabilities.append(probs)
    return evaluation._score(
        real, stats, np.concatenate(probabilities), evaluation.ALL_METRICS, seed
    )


def flat(scores):
    return {
        "fid": scores["fid"]["value"],
        "kid": scores["kid"]["value"],
        "kid_stderr": scores["kid"]["stderr"],
        "score": scores["is"]["value"],
        "score_std": scores["is"]["std"],
        "precision": scores["pr"]["precision"],
        "recall": scores["pr"]["recall"],
    }


def run_keras(name, args, epochs, images, real, extractor, grids):
    import tensorflow as tf

    from keras_dcgan import train
    from keras_dcgan.dcgan import DCGAN
    from keras_dcgan.generator.latent import generate
    from keras_dcgan.quality.evaluation import evaluate_generator
    from keras_dcgan.runs.checkpoints import TrainingState, make_checkpoint

    config = keras_config(name, max(epochs))
    run = os.path.join(args.work_dir, name)
    spe = 10_000 // BATCH
    if not os.path.exists(os.path.join(run, "generator.keras")):
        print(f"== training {name} to {max(epochs)} epochs", flush=True)
        train(config, images, run, overwrite=os.path.exists(run), verbose=2)
    seconds = epoch_seconds(run, {e * spe for e in epochs})
    rows = []
    for epoch in epochs:
        step = epoch * spe
        gan = DCGAN(config)
        checkpoint = make_checkpoint(gan, TrainingState())
        checkpoint.restore(
            os.path.join(run, "checkpoints", f"ckpt-{step}")
        ).assert_existing_objects_matched()
        start = time.time()
        scores = evaluate_generator(
            gan.generator, real, extractor, num=args.num, seed=SEED
        )
        row = dict(
            config=name,
            epoch=epoch,
            step=step,
            seconds=seconds[step],
            **flat(scores),
            eval_seconds=round(time.time() - start, 1),
        )
        if name == "default" and epoch == epochs[0]:
            # Check: scoring the same images through score_images (the
            # torch path) gives the same numbers as evaluate_generator.
            z = sample_latents(args.num, LATENT, SEED)
            again = flat(
                score_images(generate(gan.generator, z), real, extractor, SEED)
            )
            row["same_path_check_fid"] = again["fid"]
        if epoch == epochs[-1]:
            z = sample_latents(GRID, LATENT, SEED)
            grids[name] = generate(gan.generator, z)
        print(json.dumps(row), flush=True)
        rows.append(row)
        tf.keras.backend.clear_session()
    return rows


def run_torch(args, epochs, real, extractor, grids):
    run = os.path.join(args.work_dir, TORCH_CONFIG)
    log_path = os.path.join(run, "log.json")
    if not os.path.exists(log_path):
        print(f"== training {TORCH_CONFIG} to {max(epochs)} epochs", flush=True)
        subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--torch-worker",
                "--torch-run",
                run,
                "--data",
                args.data,
                "--num",
                str(args.num),
                "--epochs",
                ",".join(map(str, epochs)),
            ],
            check=True,
        )
    with open(log_path) as f:
        log = json.load(f)
    rows = []
    for epoch in epochs:
        entry = log["epochs"][str(epoch)]
        row = dict(
            config=TORCH_CONFIG,
            epoch=epoch,
            step=entry["step"],
            seconds=entry["seconds"],
        )
        for mode in ("eval", "train"):
            with np.load(os.path.join(run, f"samples_{mode}_{epoch:04d}.npz")) as f:
                x = f["x"]
            scores = flat(score_images(x, real, extractor, SEED))
            if mode == "eval":
                row.update(scores)
                if epoch == epochs[-1]:
                    grids[TORCH_CONFIG] = x[:GRID]
            else:
                row["train_mode_sampling"] = scores
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def plot(rows, configs, path, num):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for name in configs:
        mine = sorted(
            (r for r in rows if r["config"] == name), key=lambda r: r["epoch"]
        )
        if not mine:
            continue
        style = "--" if name == TORCH_CONFIG else "-"
        left.plot(
            [r["epoch"] for r in mine],
            [r["fid"] for r in mine],
            style,
            marker="o",
            label=name,
        )
        right.plot(
            [r["seconds"] for r in mine],
            [r["fid"] for r in mine],
            style,
            marker="o",
            label=name,
        )
    left.set_xlabel("epochs (78 steps each)")
    right.set_xlabel("training wall time (s), 2-core CPU")
    left.set_ylabel("FID (MNIST classifier features; lower is better)")
    left.set_yscale("log")
    left.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"DCGAN on 10k MNIST: FID of {num:,} samples vs budget")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown_table(rows):
    """The results as a Markdown table, one row per (config, epoch)."""
    lines = [
        "| config | epochs | steps | wall s | FID | KID | classifier "
        "score | precision | recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['epoch']} | {r['step']} | "
            f"{r['seconds']:.0f} | {r['fid']:.2f} | {r['kid']:.2f} | "
            f"{r['score']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        required=True,
        help="MNIST .npz with x (uint8 [N, 28, 28]) and y; "
        "relative paths are from the repository root",
    )
    parser.add_argument(
        "--work-dir",
        default="/tmp/quality_mnist",
        help="runs, the classifier and samples go here",
    )
    parser.add_argument(
        "--epochs", default="5,10,20", help="comma-separated epoch budgets to score"
    )
    parser.add_argument(
        "--configs",
        default=",".join(ALL_CONFIGS),
        help=f"comma-separated, from {','.join(ALL_CONFIGS)}",
    )
    parser.add_argument(
        "--num",
        type=int,
        default=5000,
        help="generated samples scored per (config, epoch)",
    )
    parser.add_argument(
        "--output-dir",
        default="docs",
        help="where the JSON and images/ plots are written",
    )
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--torch-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = repo_path(args.data)
    if args.torch_worker:
        return torch_worker(args)
    args.output_dir = repo_path(args.output_dir)
    epochs = sorted({int(e) for e in args.epochs.split(",")})
    configs = [c for c in args.configs.split(",") if c]
    unknown = sorted(set(configs) - set(ALL_CONFIGS))
    if unknown:
        parser.error(f"--configs: unknown {unknown}; choose from {ALL_CONFIGS}")

    from keras_dcgan import load_images
    from keras_dcgan.quality.classifier import load_labelled, train_classifier
    from keras_dcgan.quality.evaluation import compute_real_stats
    from keras_dcgan.quality.features import ClassifierExtractor, read_sidecar
    from keras_dcgan.visualize import image_grid, save_png

    total = time.time()
    os.makedirs(args.work_dir, exist_ok=True)
    os.makedirs(os.path.join(args.output_dir, "images"), exist_ok=True)
    x, y = load_labelled(data=args.data)
    classifier = os.path.join(args.work_dir, "mnist_classifier.keras")
    if not os.path.exists(classifier):
        train_classifier(x, y, classifier, epochs=5, seed=SEED, source=args.data)
    extractor = ClassifierExtractor(classifier)
    real = compute_real_stats(x, extractor, num=len(x), seed=SEED, source=args.data)
    real_scores = flat(score_images(x[: args.num], real, extractor, SEED))
    print("real images:", json.dumps(real_scores), flush=True)
    images = load_images(28, 1, data=args.data)

    rows, grids = [], {}
    for name in configs:
        if name == TORCH_CONFIG:
            rows += run_torch(args, epochs, real, extractor, grids)
        else:
            rows += run_keras(name, args, epochs, images, real, extractor, grids)
    results = {
        "data": os.path.relpath(args.data, REPO),
        "num_samples": args.num,
        "epochs": epochs,
        "steps_per_epoch": 10_000 // BATCH,
        "classifier": read_sidecar(classifier),
        "real_images_vs_themselves": real_scores,
        "machine": train_throughput.machine(),
        "configs": {
            name: (
                KERAS_CONFIGS.get(name)
                if name != TORCH_CONFIG
                else "pytorch/examples dcgan loop"
            )
            for name in configs
        },
        "results": rows,
        "total_seconds": round(time.time() - total, 1),
    }
    with open(os.path.join(args.output_dir, "quality_mnist.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    plot(
        rows,
        configs,
        os.path.join(args.output_dir, "images", "quality_mnist.png"),
        args.num,
    )
    for name, file in (
        ("default", "quality_default.png"),
        (TORCH_CONFIG, "quality_pytorch.png"),
    ):
        if name in grids:
            save_png(
                image_grid(grids[name], columns=8),
                os.path.join(args.output_dir, "images", file),
            )
    print(markdown_table(rows))
    print(f"Done in {time.time() - total:.0f} s.")


if __name__ == "__main__":
    main()
