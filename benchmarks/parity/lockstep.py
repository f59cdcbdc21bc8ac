"""The lockstep run: one library run and every PyTorch variant, from the
same ported weights, on the same batches and z, compared after each step."""

from __future__ import annotations

import os
import time

import numpy as np

from .compare import (
    SCALARS,
    TOLERANCE,
    forward_differences,
    library_state,
    new_entry,
    record,
    sample_differences,
    torch_state,
)
from .library import (
    build_library,
    forward_outputs,
    load_real_images,
    real_batches,
    scaling_mismatches,
)
from .port import parameter_pairs, port_weights
from .recipe import NOISE_FLOOR, VARIANTS
from .reference import TorchSide

EVAL_SAMPLES = 256  # inference-mode samples compared after the last step
# The config fields a report records.
REPORTED_CONFIG = (
    "image_size",
    "latent_dim",
    "generator_width",
    "discriminator_width",
    "batch_size",
    "learning_rate",
    "beta_1",
    "seed",
)


def set_deterministic(seed: int) -> None:
    """Deterministic float32 ops in both frameworks (TF turns XLA off)."""
    import keras
    import tensorflow as tf
    import torch

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    # One thread: the frameworks take turns, and TensorFlow's pool keeps
    # spinning after its ops, which slows a multi-threaded torch 10-50x.
    torch.set_num_threads(1)


def run_parity(
    config,
    steps: int,
    variants: dict | None = None,
    library: str = "composite",
    data: str | None = None,
    tolerance: float = TOLERANCE,
    state_every: int = 1,
    log=None,
) -> dict:
    """Trains the library and each PyTorch variant in lockstep from the same
    weights, batches and z; returns the report (see `__main__`).

    Args:
        config: `DCGANConfig` (preset "dcgan", equal G and D widths).
        steps: Training steps.
        variants: name -> `TorchRecipe` (default: `recipe.VARIANTS`).
        library: "composite" (`CompositeDCGAN`) or "dcgan" (`DCGAN`).
        data: An array file of images, or None for the offline digits.
        tolerance: Relative difference above which a quantity has drifted.
        state_every: Compare the full state every this many steps (always
            in the first 10 and after the last).
        log: Callable for progress lines, or None.
    """
    variants = VARIANTS if variants is None else variants
    set_deterministic(config.seed)
    gan = build_library(config, library)
    sides = {name: _ported_side(gan, config, r) for name, r in variants.items()}
    images = load_real_images(config, data)
    batches = real_batches(images, config.batch_size, config.seed)
    report = _new_report(config, steps, tolerance, library, images.description)
    for name, (side, _) in sides.items():
        report["variants"][name] = new_entry(side.recipe)
    if all(name in sides for name in NOISE_FLOOR):
        report["noise_floor"] = new_entry(None)
    start = time.time()
    for step in range(1, steps + 1):
        real = next(batches)
        if step == 1:
            _check_port(report, gan, sides, real, config)
        full = step <= 10 or step == steps or step % state_every == 0
        _lockstep_step(report, gan, sides, real, step, full)
        if log and (step in (1, steps) or step % 25 == 0):
            log(f"step {step}/{steps}: {time.time() - start:.0f} s")
    report["seconds"] = time.time() - start
    _compare_samples(report, gan, sides, config)
    return report


def _ported_side(gan, config, recipe):
    """(`TorchSide`, its pairs), holding the library's initial weights."""
    side = TorchSide(config, recipe)
    pairs = parameter_pairs(gan.generator, gan.discriminator, side)
    port_weights(pairs)
    side.build_optimizers()
    return side, pairs


def _new_report(config, steps, tolerance, library, data_description) -> dict:
    """The report before any step: the run's settings, no variant yet."""
    return {
        "steps": steps,
        "tolerance": tolerance,
        "library": library,
        "config": {k: getattr(config, k) for k in REPORTED_CONFIG},
        "data": os.path.basename(data_description),  # no local folders
        "scaling_mismatches": scaling_mismatches(),
        "library_logs": [],
        "variants": {},
    }


def _check_port(report, gan, sides, real, config) -> None:
    """G(z) and D(x) of each side against the library's, before step 1."""
    z_probe = (
        np.random.default_rng(config.seed)
        .standard_normal((config.batch_size, config.latent_dim))
        .astype(np.float32)
    )
    # The library's outputs once: the same for every side.
    library = forward_outputs(gan, real, z_probe)
    for name, (side, _) in sides.items():
        report["variants"][name]["port"] = forward_differences(
            side, real, z_probe, library
        )


def _lockstep_step(report, gan, sides, real, step: int, full: bool) -> None:
    """The library's step, then each side's on the same batch and z; records
    the differences (of the full state too where `full`)."""
    logs = {k: float(v) for k, v in gan.train_step(real).items()}
    report["library_logs"].append({k: logs[k] for k in SCALARS})
    z = gan.parity_z
    # Every side has the same pair names; the first side's read the library.
    library = library_state(gan, next(iter(sides.values()))[1]) if full else None
    limits = (report["tolerance"], report["steps"])
    values, states = {}, {}
    for name, (side, pairs) in sides.items():
        values[name] = side.step(real, z)
        states[name] = torch_state(side, pairs) if full else None
        entry = report["variants"][name]
        record(entry, step, values[name], logs, states[name], library, *limits)
    if "noise_floor" in report:
        # float32 against float64, the same recipe: float32's own rounding.
        f32, f64 = NOISE_FLOOR
        floor = report["noise_floor"]
        record(floor, step, values[f32], values[f64], states[f32], states[f64], *limits)


def _compare_samples(report, gan, sides, config) -> None:
    """Inference-mode samples of each side against the library's."""
    z_eval = (
        np.random.default_rng(config.seed + 1)
        .standard_normal((EVAL_SAMPLES, config.latent_dim))
        .astype(np.float32)
    )
    library_samples = np.asarray(gan.generator(z_eval, training=False))
    for name, (side, _) in sides.items():
        report["variants"][name]["eval_samples"] = sample_differences(
            side, z_eval, library_samples
        )
