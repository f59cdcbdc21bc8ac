"""The run directory: what a training run writes, and how it is reopened.

    RUN/config.json          the DCGANConfig of the run
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
import zipfile

import keras

from keras_dcgan.config import ConfigError, DCGANConfig

CONFIG = "config.json"
HISTORY = "history.csv"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LOSSES = "losses.png"
PROGRESS = "progress.gif"
GENERATOR = "generator.keras"
DISCRIMINATOR = "discriminator.keras"
TENSORBOARD = "tensorboard"
RUN_FILES = (CONFIG, HISTORY, SAMPLES, CHECKPOINTS, LOSSES, PROGRESS,
             GENERATOR, DISCRIMINATOR, TENSORBOARD)

logger = logging.getLogger(__name__)


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
        check_same_architecture(saved, config)
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


def check_same_architecture(saved: DCGANConfig, new: DCGANConfig) -> None:
    """Raises `ConfigError` listing every architecture field that differs."""
    old_arch, new_arch = saved.architecture(), new.architecture()
    diffs = [f"{k}: run has {old_arch[k]!r}, asked {new_arch[k]!r}"
             for k in old_arch if old_arch[k] != new_arch[k]]
    if diffs:
        raise ConfigError(
            "Cannot resume with a different architecture (" +
            "; ".join(diffs) + "). Drop those flags to keep the run's "
            "values, or start a new run in another --output-dir.")


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
    when loaded is refused, and so is a model that does not map latents
    [N, latent_dim] to the run's images [N, H, W, C]. A damaged
    `generator.keras` (truncated, garbage, a failed checksum) is replaced by
    the run's newest checkpoint, with a warning.

    Args:
        run_dir: A run directory.

    Returns:
        The generator.

    Raises:
        RunError: Refused, or nothing of the run can be loaded.
        ConfigError: The run's `config.json` is unreadable or invalid.
    """
    path = os.path.join(run_dir, GENERATOR)
    config = (load_run_config(run_dir)
              if os.path.lexists(os.path.join(run_dir, CONFIG)) else None)
    if not os.path.isfile(path):
        return _checkpoint_generator(run_dir)
    try:
        generator = load_model_safely(path)
    except DamagedModelError as damage:
        generator = _checkpoint_generator(run_dir, damage)
        logger.warning("%s; using the newest checkpoint of %s instead.",
                       damage, run_dir)
        return generator
    check_generator(generator, config, path)
    return generator


def load_model_safely(path: str) -> keras.Model:
    """Loads a `.keras` file with `safe_mode=True`, explaining a refusal.

    Safe mode refuses what would run code while loading (Lambda layers,
    unregistered classes and functions); nothing of such a file is run.

    Raises:
        DamagedModelError: The file is not an intact `.keras` archive.
        RunError: It is one, but refused: it would run code, or Keras
            cannot build what it describes.
    """
    damage = _archive_damage(path)
    if damage:
        raise DamagedModelError(f"{path} is damaged: {damage}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise DamagedModelError(f"{path} is damaged: {_first_line(e)}") from e
    except (ValueError, TypeError) as e:
        reason = ("loading it would run code it carries"
                  if "safe_mode" in str(e) or "disallowed" in str(e) else
                  "Keras cannot build the model it describes")
        raise RunError(
            f"{path} was refused: {reason} ({_first_line(e)}). keras_dcgan "
            "saves no such models; only load this file (with "
            "safe_mode=False, in your own code) if you trust who made "
            "it.") from e


class DamagedModelError(RunError):
    """A model file is damaged (truncated, not a zip, a failed checksum),
    as opposed to refused; a copy elsewhere may replace it."""


def _archive_damage(path: str) -> str | None:
    """Why `path` is not an intact `.keras` zip archive, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()  # every member's CRC
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f"not a readable .keras (zip) file ({_first_line(e)})"
    if broken:
        return f"its member {broken} fails its checksum"
    if "config.json" not in names:
        return "it holds no config.json"
    return None


def check_generator(model: keras.Model, config: DCGANConfig | None,
                    path: str) -> None:
    """Refuses a model that does not map latents to the run's images.

    Args:
        model: The loaded model.
        config: The run's config (None: only ranks are checked).
        path: Where the model came from, for the message.

    Raises:
        RunError: Input not [None, latent_dim] or output not
            [None, image_size, image_size, channels].
    """
    try:
        given = (tuple(model.input_shape), tuple(model.output_shape))
    except (AttributeError, TypeError, ValueError):  # no single input/output
        given = None
    if config is None:
        ok = (given is not None and len(given[0]) == 2 and len(given[1]) == 4
              and all(isinstance(d, int) for d in given[0][1:] + given[1][1:]))
        wanted = "[N, latent_dim] latents to [N, H, W, C] images"
    else:
        size, nz = config.image_size, config.latent_dim
        expected = ((None, nz), (None, size, size, config.channels))
        ok = given == expected
        wanted = f"{list(expected[0])} to {list(expected[1])}"
    if not ok:
        shapes = (f"{list(given[0])} to {list(given[1])}" if given else
                  "no single input to a single output")
        raise RunError(
            f"{path} is not this run's generator: it maps {shapes}, a "
            f"generator of this run maps {wanted}. Put the run's own file "
            "back, or remove it to use the run's newest checkpoint.")


def _checkpoint_generator(run_dir: str,
                          damage: DamagedModelError | None = None):
    """The generator restored from the run's newest readable checkpoint."""
    from keras_dcgan.training import restore_models

    try:
        return restore_models(run_dir)[0]
    except RunError as e:
        if damage is None:
            raise
        raise RunError(f"{damage}, and no checkpoint replaces it ({e})") from e


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]


def latest_checkpoint(run_dir: str):
    """Path prefix of the newest checkpoint of a run, or None."""
    import tensorflow as tf

    return tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINTS))


__all__ = ["ConfigError", "RunError", "prepare_run_dir", "load_run_config",
           "load_generator", "save_model", "check_same_architecture",
           "DamagedModelError", "check_generator", "load_model_safely"]
