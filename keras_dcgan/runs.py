"""The run directory: what a training run writes, and how it is reopened.

    RUN/config.json          the DCGANConfig of the run
    RUN/data.json            the fingerprint of its training data
    RUN/history.csv          losses, D(x) and D(G(z)) by step
    RUN/samples/epoch_XXXX.png  grids from one fixed noise batch
    RUN/losses.png, RUN/progress.gif
    RUN/checkpoints/         tf.train.Checkpoint files (latest few)
    RUN/checkpoints/best/    the best by --eval-metric, with best.json
    RUN/tensorboard/         the same curves for TensorBoard
    RUN/generator.keras, RUN/discriminator.keras  written at the end
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import shutil

import keras

from keras_dcgan.config import (ARCHITECTURE_FIELDS, ConfigError,
                                DCGANConfig)

logger = logging.getLogger(__name__)

CONFIG = "config.json"
HISTORY = "history.csv"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LOSSES = "losses.png"
PROGRESS = "progress.gif"
GENERATOR = "generator.keras"
DISCRIMINATOR = "discriminator.keras"
TENSORBOARD = "tensorboard"
DATA = "data.json"
RUN_FILES = (CONFIG, HISTORY, SAMPLES, CHECKPOINTS, LOSSES, PROGRESS,
             GENERATOR, DISCRIMINATOR, TENSORBOARD, DATA)


class RunError(ValueError):
    """The run directory cannot be used as asked; the message says why."""


def prepare_run_dir(path: str, config: DCGANConfig, resume: bool = False,
                    overwrite: bool = False) -> DCGANConfig:
    """Checks and sets up the output directory of a training run.

    A new run needs an empty (or missing) directory. `resume` reopens a run
    and refuses a config whose architecture differs from the saved one.
    `overwrite` deletes a previous run's files, and only those: a non-empty
    directory that is not a run is never touched.

    Args:
        path: The run directory.
        config: The run's config; a None seed is replaced by a random one.
        resume: Continue the run saved in `path`.
        overwrite: Replace the run saved in `path`.

    Returns:
        The config to train with (the saved one's architecture on resume).

    Raises:
        RunError: The directory's contents and the flags do not agree.
        ConfigError: `resume` with a different architecture.
    """
    if resume and overwrite:
        raise RunError("Pass --resume or --overwrite, not both.")
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunError(f"--output-dir {path} is a file; name a directory.")
    existing = os.listdir(path) if os.path.isdir(path) else []
    _refuse_planted_links(path)
    is_run = CONFIG in existing
    if resume:
        if not is_run:
            raise RunError(f"--resume: {path} holds no run ({CONFIG} is "
                           "missing); start a new run without --resume.")
        saved = DCGANConfig.from_json(os.path.join(path, CONFIG))
        if config.seed is None:  # "any seed": the run's own
            config = dataclasses.replace(config, seed=saved.seed)
        changes = resume_changes(saved, config)
        if changes:
            logger.info("Changed on resume: %s.", "; ".join(
                f"{k} {old!r} -> {new!r}" for k, (old, new) in changes.items()))
            config.to_json(os.path.join(path, CONFIG))
        return config
    if existing and not overwrite:
        raise RunError(
            f"--output-dir {path} is not empty. Pass --resume to continue "
            "the run in it, --overwrite to replace it, or choose another "
            "directory.")
    if existing and not is_run:
        raise RunError(
            f"--overwrite: {path} is not a keras_dcgan run (no {CONFIG}); "
            "its files are left alone. Choose another --output-dir.")
    for name in RUN_FILES:
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
    os.makedirs(os.path.join(path, SAMPLES), exist_ok=True)
    if config.seed is None:
        config = dataclasses.replace(config, seed=random.randrange(2**31))
    config.to_json(os.path.join(path, CONFIG))
    return config


def _refuse_planted_links(path: str) -> None:
    """The run's own files and folders must not lead outside the run."""
    for name in RUN_FILES:
        target = os.path.join(path, name)
        if os.path.islink(target):
            raise RunError(
                f"{target} is a symbolic link (to {os.readlink(target)}); a "
                "run writes only inside its --output-dir. Remove the link or "
                "choose another directory.")


# Fields a resumed run cannot change: the networks' shapes, and what fixes
# the data order and the position in it (the batch size and the seed).
RESUME_FIXED_FIELDS = ARCHITECTURE_FIELDS + ("batch_size", "seed")


def resume_changes(saved: DCGANConfig, new: DCGANConfig) -> dict:
    """What a resumed run changes, after refusing what it cannot change.

    Args:
        saved: The run's config.json.
        new: The config asked for on resume.

    Returns:
        {field: (old, new)} of every other field that differs; these are
        honoured by the resumed run and recorded in its config.json.

    Raises:
        ConfigError: A field of `RESUME_FIXED_FIELDS` differs; every such
            difference is listed.
    """
    changed = {f.name: (getattr(saved, f.name), getattr(new, f.name))
               for f in dataclasses.fields(DCGANConfig)
               if getattr(saved, f.name) != getattr(new, f.name)}
    refused = [f"{k}: run has {old!r}, asked {asked!r}"
               for k, (old, asked) in changed.items()
               if k in RESUME_FIXED_FIELDS]
    if refused:
        raise ConfigError(
            "Cannot resume with a different " +
            "; ".join(refused) + ". The architecture, batch size and seed "
            "of a run are fixed: drop those flags to keep the run's values, "
            "or start a new run in another --output-dir.")
    return {k: v for k, v in changed.items() if k not in RESUME_FIXED_FIELDS}


def load_run_config(run_dir: str) -> DCGANConfig:
    """The `DCGANConfig` saved in a run directory."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        raise RunError(f"{run_dir} is not a keras_dcgan run ({CONFIG} is "
                       "missing).")
    return DCGANConfig.from_json(path)


def save_model(model: keras.Model, path: str) -> None:
    """Saves a `.keras` file atomically: a crash never leaves half a file."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".tmp-{name}")
    model.save(tmp)
    os.replace(tmp, path)


def load_generator(run_dir: str) -> keras.Model:
    """The generator of a run: its `generator.keras`, else its checkpoint.

    Models are loaded with `safe_mode=True`: a file that would run code
    when loaded is refused.
    """
    path = os.path.join(run_dir, GENERATOR)
    if os.path.isfile(path):
        return load_model_safely(path)
    from keras_dcgan.training import restore_models

    return restore_models(run_dir)[0]


def load_model_safely(path: str) -> keras.Model:
    """Loads a `.keras` file with `safe_mode=True`, explaining a refusal.

    Safe mode refuses what would run code while loading (Lambda layers,
    unregistered classes and functions); nothing of such a file is run.
    """
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as e:
        raise RunError(
            f"{path} was refused: loading it would run code it carries "
            f"({str(e).splitlines()[0][:200]}). keras_dcgan saves no such "
            "models; only load this file (with safe_mode=False, in your own "
            "code) if you trust who made it.") from e
    except (OSError, EOFError, KeyError) as e:  # zip and JSON damage
        raise RunError(f"{path} is not a readable .keras model ({e}).") from e


def latest_checkpoint(run_dir: str):
    """Path prefix of the newest checkpoint of a run, or None."""
    import tensorflow as tf

    return tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINTS))


__all__ = ["ConfigError", "RunError", "prepare_run_dir", "load_run_config",
           "load_generator", "save_model", "resume_changes"]
