"""Loading what a run saved: its generator, safely, whatever state it is in."""

from __future__ import annotations

import logging
import os
import zipfile

import keras

from keras_dcgan import bounds
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import DamagedModelError, RunError
from keras_dcgan.runs.checkpoint_read import restore_generator
from keras_dcgan.runs.run_dir import (
    GENERATOR,
    GENERATOR_RAW,
    check_literal_path,
    find_run_config,
)
from keras_dcgan.runs.selection import (
    Choice,
    check_choice,
    choose_generator,
    restore_chosen,
)

logger = logging.getLogger(__name__)


def load_generator(
    run_dir: str, checkpoint: Choice | None = None, generator: str | None = None
) -> keras.Model:
    """The generator of a run: its `generator.keras`, else its checkpoint.

    With `checkpoint`, the generator of that checkpoint instead: "latest"
    (the newest readable one), "best" (the one kept by training with
    `eval_every`, in `RUN/checkpoints/best/`) or a step number (see
    `keras_dcgan.runs.selection`). Nothing of the run is written.

    A run trained with `ema` has two generators: the average of G's
    weights (`generator.keras`; what training sampled and scored, the best
    checkpoint included) and G itself (`generator_raw.keras`). `generator`
    chooses: "ema", "raw", or None for the average when there is one.

    A run whose path holds a character TensorFlow reads as a pattern
    (`* ? [ ] \\`) is refused (see `keras_dcgan.runs.run_dir.check_literal_path`).
    A checkpoint holding NaN or infinite weights is skipped ("latest") or
    refused (chosen).

    Models are loaded with `safe_mode=True`: a file that would run code
    when loaded is refused, and so is a model that does not map latents
    [N, latent_dim] to the run's images [N, H, W, C]. A damaged model file
    (truncated, garbage, a failed checksum) is replaced by the run's newest
    checkpoint, with a warning.

    Args:
        run_dir: A run directory.
        checkpoint: None (`generator.keras`, else the newest checkpoint),
            "latest", "best" or a step number.
        generator: "ema" (the average), "raw" or None (the average when
            the run was trained with `ema`, else the raw generator).

    Returns:
        The generator.

    Raises:
        RunError: `run_dir` is not a folder name, the model is refused,
            nothing of the run can be loaded, `checkpoint` names no
            checkpoint of the run (the message lists those there are), or
            "ema" is asked of a run trained without it.
        ConfigError: The run's `config.json` is unreadable or invalid.

    Example:
        >>> generator = load_generator("runs/mnist", checkpoint="best")
        >>> raw = load_generator("runs/mnist", generator="raw")
    """
    run_dir = bounds.check_path(run_dir, "run_dir", RunError)
    check_literal_path(run_dir)
    if checkpoint is not None:
        checkpoint = check_choice(checkpoint)
    config = find_run_config(run_dir)
    which = choose_generator(run_dir, config, generator)
    if config is not None and config.ema:
        _log_choice(run_dir, which, checkpoint)
    average = which == "ema"
    if checkpoint is not None:
        return restore_chosen(
            run_dir, checkpoint, config, average=average, discriminator=False
        )[0]
    name = GENERATOR_RAW if which == "raw" and config.ema else GENERATOR
    path = os.path.join(run_dir, name)
    if not os.path.isfile(path):
        return _checkpoint_generator(run_dir, average=average)
    try:
        model = load_model_safely(path)
    except DamagedModelError as damage:
        model = _checkpoint_generator(run_dir, damage, average)
        logger.warning(
            "%s; using the newest checkpoint of %s instead.", damage, run_dir
        )
        return model
    check_generator(model, config, path)
    return model


def _log_choice(run_dir: str, which: str, checkpoint: Choice | None) -> None:
    """Says which of an averaging run's two generators is read."""
    if which == "ema":
        logger.info(
            "Using the averaged generator of %s (generator=raw: G itself).",
            run_dir,
        )
        return
    scored = " (the best checkpoint was scored with its average)"
    logger.info(
        "Using the raw generator of %s%s.",
        run_dir,
        scored if checkpoint == "best" else "",
    )


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
        reason = (
            "loading it would run code it carries"
            if "safe_mode" in str(e) or "disallowed" in str(e)
            else "Keras cannot build the model it describes"
        )
        raise RunError(
            f"{path} was refused: {reason} ({_first_line(e)}). keras_dcgan "
            "saves no such models; only load this file (with "
            "safe_mode=False, in your own code) if you trust who made "
            "it."
        ) from e


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


def check_generator(model: keras.Model, config: DCGANConfig | None, path: str) -> None:
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
        ok = (
            given is not None
            and len(given[0]) == 2
            and len(given[1]) == 4
            and all(isinstance(d, int) for d in given[0][1:] + given[1][1:])
        )
        wanted = "[N, latent_dim] latents to [N, H, W, C] images"
    else:
        size, nz = config.image_size, config.latent_dim
        expected = ((None, nz), (None, size, size, config.channels))
        ok = given == expected
        wanted = f"{list(expected[0])} to {list(expected[1])}"
    if not ok:
        shapes = (
            f"{list(given[0])} to {list(given[1])}"
            if given
            else "no single input to a single output"
        )
        raise RunError(
            f"{path} is not this run's generator: it maps {shapes}, a "
            f"generator of this run maps {wanted}. Put the run's own file "
            "back, or remove it to use the run's newest checkpoint."
        )


def _checkpoint_generator(
    run_dir: str, damage: DamagedModelError | None = None, average: bool = False
):
    """The generator (or its average) of the run's newest readable checkpoint."""
    try:
        return restore_generator(run_dir, average=average)
    except RunError as e:
        if damage is None:
            raise
        raise RunError(f"{damage}, and no checkpoint replaces it ({e})") from e


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
