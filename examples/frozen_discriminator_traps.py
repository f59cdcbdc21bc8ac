"""
Title: The frozen discriminator on Keras 3: two traps and the fix, run
Author: keras_dcgan contributors
Date created: 2026/11/25
Last modified: 2026/12/07
Description: One small DCGAN trained three ways, with the evidence of each trap printed.
Accelerator: None
"""

"""
## Introduction

The classic Keras GAN recipe trains the generator G through the
discriminator D stacked in one model, `combined = keras.Sequential([G, D])`,
with D frozen there so that only G learns in that step. On Keras 3 the
recipe as Keras 2 books and blogs write it breaks twice:

1. **Trap 1**: `trainable` is read when a model's train function is traced,
   at its first `train_on_batch`, not at `compile()`. Compile D, set
   `D.trainable = False`, compile the combined model, train: D's own train
   function is traced frozen and D never learns. Keras only warns.
2. **Trap 2**: a BatchNormalization layer whose `trainable` is False runs in
   inference mode, on its moving statistics. Toggling `D.trainable` before
   each call fixes trap 1, but G is then trained against a different
   function from the D that is trained (which uses batch statistics).

The fix freezes D's *variables* (`variable.trainable = False`) and leaves
its layers trainable, setting the state right before every `train_on_batch`.

This script trains the same networks, from the same weights, on the same
batches and noise, with each recipe, and prints the evidence. It needs only
Keras, TensorFlow, NumPy, Matplotlib and (for its default data, offline)
scikit-learn. The default run (3 x 600 steps of small networks) takes under
two minutes on a 2-core CPU.
"""

"""
## Settings

Edit them here, or give them on the command line (`--help` lists them). In
a notebook this is the `parameters` cell (papermill's convention): a name
that is not one of these is refused, not silently ignored.
"""

DATA = ""  # "": scikit-learn's digits (offline); or a .npz of 28x28 digits
OUTPUT_DIR = "runs/frozen_discriminator_traps"  # traps.png and traps.json go here
STEPS = 600  # training steps of each recipe
BATCH_SIZE = 64  # images per step
WIDTH = 32  # filters of G's last and D's first convolution
LATENT_DIM = 64  # size of the noise vector z
SEED = 0  # the same seed gives the same runs

"""
The settings are checked (and the command line read) before TensorFlow is
imported, so that a typo is refused at once, by name.
"""

import argparse
import os
import re
import sys

setting_ranges = {  # name: (type, lowest, highest); None: any text
    "DATA": (str, None, None),
    "OUTPUT_DIR": (str, None, None),
    "STEPS": (int, 1, 10**6),
    "BATCH_SIZE": (int, 1, 4096),
    "LATENT_DIM": (int, 1, 4096),
    "WIDTH": (int, 1, 1024),
    "SEED": (int, 0, 2**31 - 1),
}


def fail(message):
    """Stops with one line on stderr and exit status 2, like a CLI."""
    print(f"frozen_discriminator_traps.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        fail(f"{message} (see --help)")


def checked_settings(namespace, argv):
    """The settings in `namespace`, overridden by `argv` flags; an unknown
    name, a wrong type or a value out of range stops the run."""
    unknown = [n for n in namespace if re.fullmatch("[A-Z][A-Z0-9_]*", n)]
    unknown = [n for n in unknown if n not in setting_ranges]
    if unknown:
        fail(
            f"unknown setting {', '.join(unknown)}; "
            f"the settings are {', '.join(setting_ranges)}"
        )
    parser = OneLineParser(
        prog="frozen_discriminator_traps.py",
        description="One DCGAN trained with three freezes of D.",
    )
    for name, (kind, _, _) in setting_ranges.items():
        # Checked here: argparse would convert a text default ("1") silently.
        value = namespace.get(name)  # None where a reader deleted it
        if type(value) is not kind:
            fail(f"{name} = {value!r}: must be of type {kind.__name__}")
        flag = "--" + name.lower().replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=value)
    if "ipykernel" in sys.modules and argv[:1] == ["-f"]:
        argv = []  # Jupyter's own arguments, not the reader's
    settings = vars(parser.parse_args(argv))
    for name, value in settings.items():
        _, low, high = setting_ranges[name]
        if low is not None and not low <= value <= high:
            fail(f"{name} = {value}: must be from {low} to {high}")
    if not settings["OUTPUT_DIR"]:
        fail("OUTPUT_DIR is empty; name a folder for the sample grids")
    if settings["DATA"] and not os.path.isfile(settings["DATA"]):
        fail(f"DATA (--data) {settings['DATA']}: not a file; give a .npz of digits")
    return settings


globals().update(checked_settings(globals(), sys.argv[1:]))

"""
## Setup
"""

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import json
import tempfile
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

"""
## The data

The 1,797 8x8 digits of scikit-learn, upscaled to 28x28 (no download), or
the 28x28 digits of `DATA` (MNIST's `mnist.npz`: its `x_train`). Every
recipe sees the same batches in the same order.
"""


def load_digits(path):
    """uint8 images [N, 28, 28, 1]: scikit-learn's digits or a `.npz`."""
    if not path:  # scikit-learn's 1,797 8x8 digits, upscaled: no download
        from sklearn.datasets import load_digits as small_digits

        x = np.round(small_digits().images * (255 / 16))[..., None]
        x = tf.image.resize(x, (28, 28), method="bilinear", antialias=True)
        return np.clip(np.round(x), 0, 255).astype("uint8")
    elif not os.path.isfile(path):  # a folder or a FIFO would fail or hang
        fail(f"DATA (--data) {path}: not a file; give a .npz of 28x28 uint8 images")
    else:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                x = arrays["x_train" if "x_train" in arrays else arrays.files[0]]
        except Exception as error:  # not a .npz, damaged, empty: all one answer
            fail(
                f"DATA (--data) {path}: not a readable .npz file "
                f"({type(error).__name__}); give MNIST's mnist.npz or a .npz "
                "of 28x28 uint8 images"
            )
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.dtype != np.uint8 or x.shape[1:] != (28, 28):
        fail(
            f"DATA (--data) {path}: images of shape {x.shape[1:]} and dtype "
            f"{x.dtype}; give 28x28 uint8 images, as MNIST's"
        )
    return x[..., None]


reals = load_digits(DATA).astype("float32") / 127.5 - 1.0  # G's tanh range
print(f"{len(reals)} images of {reals.shape[1:]}")


def batches():
    ds = tf.data.Dataset.from_tensor_slices(reals)
    ds = ds.shuffle(len(reals), seed=SEED).repeat()
    return ds.batch(BATCH_SIZE, drop_remainder=True).take(STEPS)


"""
## Three ways to freeze D

Each is called as `freeze(discriminator, frozen)`: once between the two
`compile()` calls, then by the training loop before every `train_on_batch`.

- **(a) The Keras 2 recipe**: `D.trainable = False` once, between the
  compiles, "for the combined model only"; never set back.
- **(b) The layer-level freeze**: `D.trainable` toggled before every call.
- **(c) The variable-level freeze, the fix**: each of D's weights toggled;
  the layers stay trainable, so D's BatchNorm uses batch statistics in G's
  step as in D's own. (BatchNorm's moving averages are not weights.)
"""


def learnable(model):
    return [v for v in model.weights if "moving" not in v.path]


def keras2_freeze(discriminator, frozen):
    if frozen:
        discriminator.trainable = False


def layer_freeze(discriminator, frozen):
    discriminator.trainable = not frozen


def variable_freeze(discriminator, frozen):
    for variable in learnable(discriminator):
        variable.trainable = not frozen


"""
## The models

The networks of `mnist.py` (the paper's, at 28x28), the same weights for
every recipe, D compiled, frozen, then the combined model compiled: the
order of the tutorials.
"""


def normal():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


# G runs twice a step in training mode on the same z (the fakes for D, then
# inside the combined model), so each run moves its moving statistics by
# 0.9 ** 0.5: two make the one 0.9 update a step of PyTorch's momentum 0.1.
G_MOMENTUM = 0.9**0.5


def batch_norm(momentum=0.9):
    return layers.BatchNormalization(
        momentum=momentum,
        epsilon=1e-5,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
        beta_initializer="zeros",
    )


def make_generator(latent_dim, width):
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(
                7 * 7 * 2 * width, use_bias=False, kernel_initializer=normal()
            ),
            batch_norm(G_MOMENTUM),
            layers.ReLU(),
            layers.Reshape((7, 7, 2 * width)),
            layers.Conv2DTranspose(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            ),
            batch_norm(G_MOMENTUM),
            layers.ReLU(),
            layers.Conv2DTranspose(
                1, 4, strides=2, padding="same", kernel_initializer=normal()
            ),
            layers.Activation("tanh"),
        ],
        name="generator",
    )


def make_discriminator(width):
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(
                width, 4, strides=2, padding="same", kernel_initializer=normal()
            ),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(
                2 * width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=normal(),
            ),
            batch_norm(),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", kernel_initializer=normal()),
        ],
        name="discriminator",
    )


def build(freeze):
    keras.utils.set_random_seed(SEED)
    generator = make_generator(LATENT_DIM, WIDTH)
    discriminator = make_discriminator(WIDTH)
    freeze(discriminator, False)
    discriminator.compile(
        keras.optimizers.Adam(2e-4, beta_1=0.5), "binary_crossentropy"
    )
    freeze(discriminator, True)
    combined = keras.Sequential([generator, discriminator], name="combined")
    combined.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), "binary_crossentropy")
    return generator, discriminator, combined


"""
## One training loop for all three

D on a real batch (label 1), D on a fake batch (label 0), then the combined
model on the same noise with label 1. It records how many weights of D and
G moved, whether D's weights stayed bit-identical in G's steps, the losses,
and every warning Keras gave.
"""


def snapshot(model):
    return [v.numpy().copy() for v in learnable(model)]


def count_changed(before, model):
    return sum(
        not np.array_equal(b, v.numpy()) for b, v in zip(before, learnable(model))
    )


def train(freeze):
    generator, discriminator, combined = build(freeze)
    rng = np.random.default_rng(SEED)
    ones = np.ones((BATCH_SIZE, 1), "float32")
    make_fakes = tf.function(lambda z: generator(z, training=True))
    d_start, g_start = snapshot(discriminator), snapshot(generator)
    log = {"d_loss": [], "g_loss": [], "d_moved_in_g_step": 0}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for real in batches():
            z = rng.standard_normal((BATCH_SIZE, LATENT_DIM))
            z = z.astype("float32")
            freeze(discriminator, False)
            d_real = discriminator.train_on_batch(real, ones)
            d_fake = discriminator.train_on_batch(make_fakes(z), 0 * ones)
            freeze(discriminator, True)
            d_before = snapshot(discriminator)
            log["g_loss"].append(float(combined.train_on_batch(z, ones)))
            log["d_moved_in_g_step"] += count_changed(d_before, discriminator)
            log["d_loss"].append(0.5 * (float(d_real) + float(d_fake)))
    log.update(
        warnings=sorted({str(w.message) for w in caught}),
        d_changed=count_changed(d_start, discriminator),
        g_changed=count_changed(g_start, generator),
        d_weights=len(d_start),
        g_weights=len(g_start),
    )
    return (generator, discriminator, combined), log


"""
## The evidence

*D(G(z)) G step* is what the combined model computes for a fake batch in
the state of G's step; *D(G(z)) batch* is D on the same fakes as D trains
(BatchNorm on batch statistics). They agree only when G is trained against
the D that is being trained. *Diversity*: mean pairwise distance of 64
samples over that of 64 real images (near 0: one image repeated). *NN
ratio*: mean distance of a sample to its nearest real image over the same
for real images (about 1: samples as close to the data as real images are;
well above 1: noise).
"""


def mean_pairwise(x):
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    return float(d.sum() / (len(x) * (len(x) - 1)))


def nearest_real(x, exclude_self=False):
    pool = reals.reshape(len(reals), -1)[:2000]
    d2 = (x * x).sum(1)[:, None] + (pool * pool).sum(1)[None] - 2 * x @ pool.T
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    return float(np.sqrt(np.maximum(d2, 0).min(1)).mean())


def evidence(freeze, models, log):
    generator, discriminator, combined = models
    z = (
        np.random.default_rng(1234)
        .standard_normal((BATCH_SIZE, LATENT_DIM))
        .astype("float32")
    )
    samples = generator(z, training=False).numpy()
    freeze(discriminator, True)
    in_g_step = float(np.mean(combined(z, training=True)))
    discriminator.trainable = True  # D as it trains (all but recipe (a))
    variable_freeze(discriminator, False)
    as_trained = float(
        np.mean(discriminator(generator(z, training=True), training=True))
    )
    flat = samples.reshape(len(samples), -1)[:64]
    real_flat = reals.reshape(len(reals), -1)[:64]
    tail = max(1, STEPS // 10)  # the last tenth of the run
    return samples, {
        **{k: v for k, v in log.items() if k not in ("d_loss", "g_loss")},
        "final_d_loss": float(np.mean(log["d_loss"][-tail:])),
        "final_g_loss": float(np.mean(log["g_loss"][-tail:])),
        "d_of_fake_in_g_step": in_g_step,
        "d_of_fake_batch_stats": as_trained,
        "g_step_minus_batch": abs(in_g_step - as_trained),
        "diversity": mean_pairwise(flat) / mean_pairwise(real_flat),
        "nn_ratio": nearest_real(flat) / nearest_real(real_flat, True),
    }


"""
## Run the three recipes
"""

recipes = {
    "(a) Keras 2 order": keras2_freeze,
    "(b) layer freeze": layer_freeze,
    "(c) variable freeze": variable_freeze,
}
results, grids = {}, {}
for name, freeze in recipes.items():
    print(f"Training {name}: {STEPS} steps ...")
    grids[name], results[name] = evidence(freeze, *train(freeze))

"""
## The table and the verdicts
"""

table_columns = {
    "D learns": "d_changed",
    "G learns": "g_changed",
    "D still in G step": "d_moved_in_g_step",
    "D loss": "final_d_loss",
    "G loss": "final_g_loss",
    "D(G(z)) G step": "d_of_fake_in_g_step",
    "D(G(z)) batch": "d_of_fake_batch_stats",
    "|diff|": "g_step_minus_batch",
    "diversity": "diversity",
    "NN ratio": "nn_ratio",
}


def cell(e, key):
    if key in ("d_changed", "g_changed"):
        return f"{'yes' if e[key] else 'no'} {e[key]}/{e[key[0] + '_weights']}"
    if key == "d_moved_in_g_step":
        return "yes" if e[key] == 0 else "NO"
    return f"{e[key]:.4f}"


print("\n" + f"{'recipe':20}" + "".join(f"{c:>{len(c) + 2}}" for c in table_columns))
for name, e in results.items():
    print(
        f"{name:20}"
        + "".join(f"{cell(e, k):>{len(c) + 2}}" for c, k in table_columns.items())
    )
for name, e in results.items():
    for message in e["warnings"]:
        print(f"{name}: Keras warned: {message!r}")


def verdicts(results):
    """Each claim of this run, True only when this run demonstrates it."""
    a, b, c = results.values()
    return {
        "trap 1: under the Keras 2 order D never learns (bit-identical)": (
            a["d_changed"] == 0
        ),
        "trap 2: with frozen layers G's step sees another D(G(z))": (
            b["g_step_minus_batch"] > 1e-4
        ),
        "fix: D and G learn, G's step sees D as D trains, D still there": (
            c["g_step_minus_batch"] < 1e-5
            and c["d_changed"] == c["d_weights"]
            and c["g_changed"] == c["g_weights"]
            and c["d_moved_in_g_step"] == 0
        ),
        # The pictures, by the NN ratio (lower: closer to the data), with a
        # margin: a few steps leave all three at the same noise.
        "picture: (c)'s samples are closer to the data than (a)'s": (
            c["nn_ratio"] < 0.9 * a["nn_ratio"]
        ),
    }


def picture_note(results):
    """What the figure shows, in one sentence, from the NN ratios."""
    a, b, c = (e["nn_ratio"] for e in results.values())
    if not c < 0.9 * a:  # the margin of the picture verdict
        return (
            f"The three pictures do not differ yet (NN ratio {a:.2f}, {b:.2f}, "
            f"{c:.2f}): {STEPS} steps are too few; the evidence is in the "
            "numbers. (c) draws digits after a few hundred steps."
        )
    if c >= 0.9 * b:
        return (
            f"(b)'s samples look as good as (c)'s or better here (NN ratio "
            f"{b:.2f} and {c:.2f}): on these digits trap 2 is in the numbers, "
            "not the pictures; on MNIST at 800 steps (b)'s pictures fail."
        )
    return f"(c) draws closest to the data (NN ratio {a:.2f}, {b:.2f}, {c:.2f})."


print()
for claim, shown in verdicts(results).items():
    print(f"{'shown' if shown else 'NOT SHOWN':>10}  {claim}")
print(picture_note(results))

"""
The picture claims are made only when the samples show them: a short run
prints NOT SHOWN for them, and the figure says so, while the evidence of
the traps (the weights and D(G(z)) above) holds from the first step.

What the default run shows: (a) D's weights are bit-identical after 600
steps, Keras said only "The model does not have any trainable weights.",
and G, trained against a fixed random D, makes noise. (b) G is trained
against D(G(z)) on moving statistics, about 5x what D itself computes for
the same fakes; on these blurry digits the samples still look like (c)'s
after 600 steps, and the script says so. On real MNIST at the paper's sizes
(`--data mnist.npz --steps 800 --width 64 --latent-dim 100 --batch-size
128`, 10,000 MNIST images, 6 minutes on a 2-core CPU) the mismatch runs
away: (b) ended with D's loss at 0.003 and G's at 0.43 (the
moving-statistics D called the fakes real, 0.64, while D itself gave them
0.003), and its samples were scratchy noise, while (c) drew digits
(docs/FROZEN_DISCRIMINATOR.md has that table and figure). In (c) G's step
sees exactly the D that trains.

## The figure

64 samples of each recipe side by side, and the evidence as JSON next to
it.
"""


def grid(images, columns=8, gap=2):
    """Images in [-1, 1] as one uint8 picture: `columns` a row."""
    pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")
    n, h, w, c = pixels.shape
    rows = -(-n // columns)
    out = np.zeros((rows * (h + gap) + gap, columns * (w + gap) + gap, c), "uint8")
    for i, image in enumerate(pixels):
        top, left = gap + i // columns * (h + gap), gap + i % columns * (w + gap)
        out[top : top + h, left : left + w] = image
    return out


def save_atomically(path, write):
    """`write(tmp)` into a new file beside `path`, then renamed over it:
    a stopped run never leaves half a file."""
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path)[1], dir=OUTPUT_DIR)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


os.makedirs(OUTPUT_DIR, exist_ok=True)
figure, axes = plt.subplots(1, 3, figsize=(12, 4.4))
for axis, (name, samples) in zip(axes, grids.items()):
    axis.imshow(grid(samples[:64])[..., 0], cmap="gray", interpolation="nearest")
    axis.set_title(f"{name}, NN ratio {results[name]['nn_ratio']:.2f}")
    axis.axis("off")
figure.suptitle(picture_note(results), fontsize=9)
figure.tight_layout()
figure_path = os.path.join(OUTPUT_DIR, "traps.png")
save_atomically(figure_path, lambda tmp: figure.savefig(tmp, dpi=100))
settings = {name: globals()[name] for name in setting_ranges}
report = {
    "settings": settings,
    "results": results,
    "verdicts": verdicts(results),
    "picture": picture_note(results),
}


def write_json(tmp):
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)


save_atomically(os.path.join(OUTPUT_DIR, "traps.json"), write_json)
print(f"\nWrote {figure_path} and traps.json next to it.")
