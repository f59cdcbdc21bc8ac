"""Sample quality against training budget, over several seeds.

What: trains DCGANs on the 10,000 real MNIST test images (`mnist_test_10k.npz`,
see README "Training on real data") under several configurations, each on
every seed of `--seeds`, and scores each at a few epoch budgets with FID,
KID, the classifier score (IS with an MNIST classifier) and
precision/recall, all from a domain classifier trained on the same images by
`keras_dcgan.quality.classifier.train_classifier` (what `keras-dcgan
train-classifier` runs). `quality_report.py` turns the scores into mean and
spread per configuration; a difference smaller than the spread is a tie.

Configurations (all: 28x28x1, batch 128, latent 100, widths 64, 78 steps per
epoch):

- `default`, `keras_tutorial`, `dcgan_conv`: the library's defaults with
  `--architecture` dcgan, keras-tutorial and dcgan-conv;
- `label_smoothing_0.1`, `dropout_0.3`, `moving_bn`, `mixed_bfloat16`,
  `mixed_float16`: one change each from `default`;
- `pytorch_reference`: the pytorch/examples `dcgan/main.py` loop on the same
  networks in PyTorch (`benchmarks.quality_torch`, a subprocess, 2 threads).

Every keras_dcgan run trains with the generator average on
(`ema=EMA_DECAY`): the average changes nothing in training, so one run gives
both generators. Each is scored as sampled in inference mode ("moving":
BatchNorm's moving statistics, the library's way), and for `default` also
with batch statistics ("batch", batches of 125) and with statistics
recomputed from 50 batches of fresh latents ("recalibrated"). For `default`
two more averages are kept beside the library's by a callback: without the
warm-up ramp, and with decay 0.9999.

How: checkpoints at every budget's step are restored and scored on `--num`
samples from the same latents, against statistics of all real images
computed once. Scores are cached per run in `WORK_DIR/scores/`, so runs
already trained and scored are not redone, and the benchmark can be run a
configuration at a time; a finished run asked for more epochs is resumed
from its last checkpoint (`default`'s is trained again).

Usage, from the repository root (2-core CPU, Zen 4: a 30-epoch run takes
about 8 min with the dcgan network, 9 min with dcgan-conv's, 21 min with
keras-tutorial's, 6.5 min in PyTorch; scoring adds 10-20 s per variant and
budget):

    pip install torch==2.13.0   # for pytorch_reference only
    python -m benchmarks.quality_mnist --data mnist_test_10k.npz \\
        --work-dir /tmp/quality_mnist --epochs 10,20,30 --seeds 0,1,2
"""

import argparse
import json
import math
import os
import time

import numpy as np

# quality_report: tables and figures; train_throughput.machine(): the
# benchmarks' description of the machine.
from benchmarks import quality_report, train_throughput
from benchmarks.quality_sampling import sample, score_images
from benchmarks.quality_torch import (
    EVAL_SEED,
    LATENT,
    WIDTH,
    reference_samples,
    sample_latents,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMA_DECAY = 0.999
KERAS_CONFIGS = {
    "default": {},
    "keras_tutorial": {"architecture": "keras-tutorial"},
    "dcgan_conv": {"architecture": "dcgan-conv"},
    "label_smoothing_0.1": {"label_smoothing": 0.1},
    "dropout_0.3": {"dropout": 0.3},
    "moving_bn": {"frozen_bn_stats": "moving"},
    "mixed_bfloat16": {"precision": "mixed_bfloat16"},
    "mixed_float16": {"precision": "mixed_float16"},
}
TORCH_CONFIG = "pytorch_reference"
ALL_CONFIGS = tuple(KERAS_CONFIGS) + (TORCH_CONFIG,)
DEFAULT_CONFIGS = ("default", TORCH_CONFIG, "keras_tutorial", "dcgan_conv")
# Averages kept beside the library's (default only): (decay, warm-up).
EXTRA_AVERAGES = {"ema_nowarmup": (0.999, False), "ema_0.9999": (0.9999, True)}
SAMPLINGS = ("moving", "batch", "recalibrated")
BATCH, STEPS_PER_EPOCH = 128, 10_000 // 128
GRID = 64  # samples in the sample grids


def repo_path(path):
    """Relative paths are relative to the repository root."""
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(REPO, path))


# --------------------------------------------------------------------------
# keras_dcgan runs.
# --------------------------------------------------------------------------


def keras_config(name, seed, epochs):
    from keras_dcgan import DCGANConfig

    every = math.gcd(*epochs) * STEPS_PER_EPOCH
    return DCGANConfig(
        image_size=28,
        channels=1,
        batch_size=BATCH,
        latent_dim=LATENT,
        generator_width=WIDTH,
        discriminator_width=WIDTH,
        seed=seed,
        epochs=max(epochs),
        checkpoint_every=every,
        max_checkpoints=max(epochs) * STEPS_PER_EPOCH // every + 1,
        ema=EMA_DECAY,
        **KERAS_CONFIGS[name],
    )


def extra_averages_callback(folder, steps):
    """A callback keeping `EXTRA_AVERAGES` beside the library's average and
    saving their weights at each step of `steps`."""
    import keras

    from keras_dcgan.dcgan import GeneratorAverage

    class ExtraAverages(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            generator = self.model.layers[0]
            self.averages = {
                name: GeneratorAverage(generator, decay, warmup)
                for name, (decay, warmup) in EXTRA_AVERAGES.items()
            }
            self.step = 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            for name, average in self.averages.items():
                average.update()
                if self.step in steps:
                    path = os.path.join(folder, f"{name}_{self.step}.weights.h5")
                    average.model.save_weights(path)

    os.makedirs(folder, exist_ok=True)
    return ExtraAverages()


def trained_step(run):
    """The step of a finished run's latest checkpoint, or None."""
    from keras_dcgan.runs.selection import checkpoint_steps

    if not os.path.exists(os.path.join(run, "generator.keras")):
        return None
    return max(checkpoint_steps(run), default=None)


def train_keras(name, seed, epochs, images, run):
    """Trains the run to max(epochs), or resumes a shorter finished one.

    Resume is exact (docs/RELIABILITY.md, item 4), so a run extended from
    10 to 30 epochs is the 30-epoch run. `default` is always trained from
    scratch: its extra averages live outside the checkpoint.
    """
    from keras_dcgan import train

    config = keras_config(name, seed, epochs)
    done = trained_step(run)
    if done is not None and done >= max(epochs) * STEPS_PER_EPOCH:
        return config
    resume = done is not None and name != "default"
    callbacks = []
    if name == "default":
        steps = {e * STEPS_PER_EPOCH for e in epochs}
        callbacks.append(extra_averages_callback(run + "_extra", steps))
    how = f"resuming at step {done}" if resume else "training"
    print(f"== {how} {name} seed {seed} to {max(epochs)} epochs", flush=True)
    train(
        config,
        images,
        run,
        resume=resume,
        overwrite=os.path.exists(run) and not resume,
        callbacks=callbacks,
        verbose=2,
    )
    return config


def keras_generators(name, config, run, step):
    """{generator name: model} of the checkpoint at `step`."""
    import keras

    from keras_dcgan.dcgan import DCGAN
    from keras_dcgan.runs.checkpoints import TrainingState, make_checkpoint
    from keras_dcgan.runs.selection import checkpoint_steps

    gan = DCGAN(config)
    checkpoint = make_checkpoint(gan, TrainingState())
    checkpoint.restore(checkpoint_steps(run)[step]).assert_existing_objects_matched()
    generators = {"raw": gan.generator, "ema": gan.average.model}
    if name == "default":
        for extra in EXTRA_AVERAGES:
            model = keras.models.clone_model(gan.generator)
            model.load_weights(
                os.path.join(run + "_extra", f"{extra}_{step}.weights.h5")
            )
            generators[extra] = model
    return generators


def score_keras(name, seed, epochs, num, images, real, extractor, work_dir):
    import tensorflow as tf

    run = os.path.join(work_dir, name, f"seed{seed}")
    config = train_keras(name, seed, epochs, images, run)
    seconds = quality_report.history_seconds(run)
    z = sample_latents(num, LATENT, EVAL_SEED)
    rows, grids = [], {}
    for epoch in epochs:
        step = epoch * STEPS_PER_EPOCH
        for generator, model in keras_generators(name, config, run, step).items():
            every_way = name == "default" and generator in ("raw", "ema")
            samplings = SAMPLINGS if every_way else ("moving",)
            for sampling in samplings:
                start = time.time()
                x = sample(model, z, sampling)
                row = dict(
                    config=name,
                    generator=generator,
                    sampling=sampling,
                    seed=seed,
                    epoch=epoch,
                    step=step,
                    seconds=seconds.get(step),
                    **score_images(x, real, extractor),
                    score_seconds=round(time.time() - start, 1),
                )
                print(json.dumps(row), flush=True)
                rows.append(row)
                if epoch == max(epochs) and sampling == "moving":
                    grids[f"{name}/{generator}"] = x[:GRID]
        tf.keras.backend.clear_session()
    return rows, grids


# --------------------------------------------------------------------------
# The PyTorch reference.
# --------------------------------------------------------------------------


def score_torch(seed, epochs, data, num, real, extractor, work_dir):
    run = os.path.join(work_dir, TORCH_CONFIG, f"seed{seed}")
    rows, grids = [], {}
    samples = reference_samples(data, run, seed, epochs, num)
    for (epoch, sampling), (x, entry) in samples.items():
        row = dict(
            config=TORCH_CONFIG,
            generator="raw",
            sampling=sampling,
            seed=seed,
            epoch=epoch,
            step=entry["step"],
            seconds=entry["seconds"],
            **score_images(x, real, extractor),
        )
        print(json.dumps(row), flush=True)
        rows.append(row)
        if epoch == max(epochs) and sampling == "moving":
            grids[f"{TORCH_CONFIG}/raw"] = x[:GRID]
    return rows, grids


# --------------------------------------------------------------------------
# One (configuration, seed) at a time, cached.
# --------------------------------------------------------------------------


def scored_run(name, seed, args, epochs, context):
    """Rows and grids of one run: from the cache, or trained and scored."""
    saved = read_cache(args.work_dir, name, seed)
    if saved and saved["epochs"] == epochs and saved["num"] == args.num:
        return saved["rows"], {}
    cache = cache_path(args.work_dir, name, seed)
    images, real, extractor = context()
    if name == TORCH_CONFIG:
        rows, grids = score_torch(
            seed, epochs, args.data, args.num, real, extractor, args.work_dir
        )
    else:
        rows, grids = score_keras(
            name, seed, epochs, args.num, images, real, extractor, args.work_dir
        )
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        json.dump({"epochs": epochs, "num": args.num, "rows": rows}, f)
    grid_dir = os.path.join(args.work_dir, "grids")
    os.makedirs(grid_dir, exist_ok=True)
    for key, x in grids.items():
        tag = key.replace("/", "_")
        np.savez_compressed(os.path.join(grid_dir, f"{tag}_seed{seed}.npz"), x=x)
    return rows, grids


def cache_path(work_dir, name, seed):
    return os.path.join(work_dir, "scores", f"{name}_seed{seed}.json")


def read_cache(work_dir, name, seed):
    """{epochs, num, rows} cached for one run, or None."""
    path = cache_path(work_dir, name, seed)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def lazy_context(args):
    """The data, real statistics and extractor, made on first use."""
    made = {}

    def context():
        if not made:
            made["value"] = make_context(args)
        return made["value"]

    return context


def make_context(args):
    from keras_dcgan import load_images
    from keras_dcgan.quality.classifier import load_labelled, train_classifier
    from keras_dcgan.quality.evaluation import real_stats
    from keras_dcgan.quality.features import ClassifierExtractor

    x, y = load_labelled(data=args.data)
    classifier = os.path.join(args.work_dir, "mnist_classifier.keras")
    if not os.path.exists(classifier):
        train_classifier(x, y, classifier, epochs=5, seed=0, source=args.data)
    extractor = ClassifierExtractor(classifier)
    real = real_stats(x, extractor, num=len(x), seed=EVAL_SEED, source=args.data)
    return load_images(28, 1, data=args.data), real, extractor


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        required=True,
        help="MNIST .npz with x (uint8 [N, 28, 28]) and y; "
        "relative paths are from the repository root",
    )
    parser.add_argument(
        "--work-dir", default="/tmp/quality_mnist", help="runs, classifier, scores"
    )
    parser.add_argument("--epochs", default="10,20,30", help="epoch budgets scored")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of every config")
    parser.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated, from {','.join(ALL_CONFIGS)}",
    )
    parser.add_argument(
        "--num", type=int, default=5000, help="generated samples scored per budget"
    )
    parser.add_argument(
        "--output-dir", default="docs", help="where the JSON and images/ go"
    )
    parser.add_argument("--no-report", action="store_true", help="train and score only")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the scores cached in --work-dir for "
        "--configs and --seeds, whatever their budgets",
    )
    args = parser.parse_args()
    args.data, args.output_dir = repo_path(args.data), repo_path(args.output_dir)
    args.epochs = sorted({int(e) for e in args.epochs.split(",")})
    args.seeds = sorted({int(s) for s in args.seeds.split(",")})
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = sorted(set(args.configs) - set(ALL_CONFIGS))
    if unknown:
        parser.error(f"--configs: unknown {unknown}; choose from {ALL_CONFIGS}")
    return args


def main():
    args = parse_args()
    total = time.time()
    os.makedirs(args.work_dir, exist_ok=True)
    context = lazy_context(args)
    rows = []
    for name in args.configs:
        for seed in args.seeds:
            if args.report_only:
                rows += (read_cache(args.work_dir, name, seed) or {"rows": []})["rows"]
            else:
                rows += scored_run(name, seed, args, args.epochs, context)[0]
    if args.no_report:
        return
    results = {
        "data": os.path.basename(args.data),
        "num_samples": args.num,
        "epochs": sorted({r["epoch"] for r in rows}),
        "seeds": args.seeds,
        "steps_per_epoch": STEPS_PER_EPOCH,
        "ema_decay": EMA_DECAY,
        "extra_averages": EXTRA_AVERAGES,
        "machine": train_throughput.machine(),
        "configs": {
            name: KERAS_CONFIGS.get(name, "pytorch/examples dcgan loop")
            for name in args.configs
        },
        "results": rows,
        "summary": quality_report.summarize(rows),
        "total_seconds_this_call": round(time.time() - total, 1),
    }
    quality_report.write(results, args.work_dir, args.output_dir)


if __name__ == "__main__":
    main()
