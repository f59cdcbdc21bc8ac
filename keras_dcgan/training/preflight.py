"""The checks before a run: one sequence for the real run and `--dry-run`.

Every refusal a run can meet before its first step comes from `preflight`,
in one order: the arguments, the memory the networks and batch need, the
data, the run directory against the flags, the evaluator's features, then
(on resume) the data against the run's. `train` runs it holding the run
(its stop signals and lock, taken just before the data check, the first
that needs the run to itself); `keras-dcgan train --dry-run` runs it
holding nothing and writing nothing. Both therefore report the same first
error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan import bounds, runs
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import ImageData, as_image_data
from keras_dcgan.data.fingerprint import (
    check_same_data,
    data_fingerprint,
    load_fingerprint,
)
from keras_dcgan.data.preprocess import available_memory_bytes
from keras_dcgan.devices import distribute
from keras_dcgan.errors import ConfigError, DataError, RunError, TrainingInterrupted
from keras_dcgan.quality import features
from keras_dcgan.runs.runlock import run_lock
from keras_dcgan.runs.workers import worker_run_dir
from keras_dcgan.training.signals import StopSignals

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Preflight:
    """What the checks found: everything a run opens with.

    Attributes:
        config: The config, checked.
        images: The data, as `ImageData` at the config's size.
        steps_per_epoch: Whole batches per epoch.
        strategy: The `tf.distribute.Strategy` to train under.
        run_dir: The directory this process writes (the run's, or a
            worker's copy; see `keras_dcgan.runs.workers`).
        extractor: The evaluator's feature extractor (None without
            `eval_every`).
        fingerprint: The data's fingerprint, to record in the run.
        resume: Go on from the run's checkpoint.
        overwrite: Replace a previous run.
        signals: The run's `StopSignals` (None for a dry run).
    """

    config: DCGANConfig
    images: ImageData
    steps_per_epoch: int
    strategy: tf.distribute.Strategy
    run_dir: str
    extractor: object
    fingerprint: dict
    resume: bool
    overwrite: bool
    signals: StopSignals | None = None


def preflight(
    config: DCGANConfig,
    images: ImageData | np.ndarray | tf.data.Dataset,
    output_dir: str,
    *,
    allow_data_change: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    strategy=None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    hold: contextlib.ExitStack | None = None,
) -> Preflight:
    """Makes every check a run makes before its first step; writes nothing.

    Args:
        config, images, output_dir, resume, overwrite, allow_data_change,
            strategy, callbacks: As `keras_dcgan.training.train`'s.
        hold: The real run's: the worker's run directory, the stop signals
            and the run's lock are entered into it (the lock makes the
            directory). None (a dry run): `output_dir` is checked as it is.

    Returns:
        The `Preflight` plan the run opens with.

    Raises:
        ConfigError, DataError, RunError: The first refusal, as `train`
            raises it.
        TrainingInterrupted: SIGINT/SIGTERM while holding the run, before
            anything was written.

    Example:
        >>> plan = preflight(config, images, "runs/mnist", resume=True)
    """
    check_arguments(
        config, output_dir, resume, overwrite, allow_data_change, callbacks, strategy
    )
    check_training_memory(config)
    images = as_image_data(
        images, config.image_size, config.channels, config.center_crop
    )
    steps_per_epoch = images.num_images // config.batch_size
    if steps_per_epoch == 0:
        raise DataError(
            f"{images.description}: fewer images than one batch "
            f"({config.batch_size}); lower batch_size=."
        )
    strategy = strategy or distribute.make_strategy(config.strategy)
    run_dir = output_dir
    if hold is not None:
        run_dir = hold.enter_context(worker_run_dir(strategy, output_dir, resume))
    # Every refusal comes before the run directory is touched: the flags
    # against its contents, then the evaluator's features, the data.
    runs.check_run_dir(run_dir, resume, overwrite)
    extractor = _extractor(config.eval_features) if config.eval_every else None
    signals = None
    if hold is not None:
        # From here on SIGINT/SIGTERM only set a flag. Before the directory
        # is written the run stops with nothing changed; after, at the
        # first step boundary with a checkpoint.
        signals = hold.enter_context(StopSignals())
        hold.enter_context(run_lock(run_dir))
    fingerprint = checked_fingerprint(images, run_dir, resume, allow_data_change)
    if signals is not None and signals.received is not None:
        raise TrainingInterrupted(signals.received, 0, started=False)
    return Preflight(
        config,
        images,
        steps_per_epoch,
        strategy,
        run_dir,
        extractor,
        fingerprint,
        resume,
        overwrite,
        signals,
    )


def check_arguments(
    config, output_dir, resume, overwrite, allow_data_change, callbacks, strategy
) -> None:
    """Refuses `train`'s arguments of the wrong kind, before any work.

    Raises:
        ConfigError: `config` is not a valid `DCGANConfig` (its fields may
            have been changed since it was made), a flag is not a bool,
            `callbacks` are not Keras callbacks or `strategy` not a
            `tf.distribute.Strategy`.
        RunError: `output_dir` is not a folder name.
    """
    if not isinstance(config, DCGANConfig):
        raise ConfigError(
            f"config: a {type(config).__name__}, not a DCGANConfig; make one "
            "with keras_dcgan.DCGANConfig(...)."
        )
    config.validate()
    bounds.check_path(output_dir, "output_dir", RunError)
    for name, flag in (
        ("resume", resume),
        ("overwrite", overwrite),
        ("allow_data_change", allow_data_change),
    ):
        bounds.check_bool(flag, name, ConfigError)
    if callbacks is not None and (
        isinstance(callbacks, (str, bytes))
        or not isinstance(callbacks, Sequence)
        or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks)
    ):
        raise ConfigError(
            "callbacks: give a list of keras.callbacks.Callback objects, or None."
        )
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise ConfigError(
            f"strategy: a {type(strategy).__name__}, not a "
            "tf.distribute.Strategy; see keras_dcgan.make_strategy."
        )


def check_training_memory(config: DCGANConfig) -> None:
    """Refuses a config whose networks and batch cannot fit in the memory
    this process can allocate (`bounds.training_memory_bytes`), before
    data is loaded or a model is built. Training on CPUs only: an
    accelerator's memory is not the host's, and TensorFlow does not tell
    its size up front.

    Raises:
        ConfigError: One line naming the memory and the flags that set it.
    """
    if any(tf.config.list_physical_devices(kind) for kind in ("GPU", "TPU")):
        return
    bounds.check_training_memory(config, available_memory_bytes(), ConfigError)


def checked_fingerprint(
    images: ImageData, output_dir: str, resume: bool, allow_change: bool
) -> dict:
    """The data's fingerprint; on resume, other data than the run's is
    refused (or, allowed, logged).

    Raises:
        DataError: On resume, the data differs, or the run's `data.json`
            is not a fingerprint (so the data cannot be checked), and
            `allow_change` is False.
    """
    new = data_fingerprint(images, images.description)
    path = os.path.join(output_dir, runs.DATA)
    try:
        saved = load_fingerprint(path) if resume else None
    except DataError:  # never a check skipped silently
        if not allow_change:
            raise
        logger.warning(
            "%s is not a data fingerprint; resuming with the data given "
            "(allow_data_change=True), its fingerprint written anew.",
            path,
        )
        saved = None
    if saved is not None:
        diffs = check_same_data(saved, new, allow_change)
        if diffs:
            logger.warning(
                "Resuming with other data (allow_data_change=True): %s.",
                "; ".join(diffs),
            )
    return new


def _extractor(spec: str):
    """The evaluator's features; a refusal names the field the caller set,
    `eval_features=`, where `make_extractor` names its own `spec=`."""
    try:
        return features.make_extractor(spec)
    except DataError as e:
        text = str(e)
        if not text.startswith("spec="):
            raise
        raise type(e)("eval_features=" + text.removeprefix("spec=")) from e
