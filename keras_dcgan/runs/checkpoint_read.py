"""Checkpoints, the read side: a run's generator (and its average) back
from a checkpoint, reading only.

Only the networks asked for are built, from the run's config, with no
compiled composite, optimizer or `tf.function`: a checkpoint's objects are
matched by their path in the object graph the writer saved
(`keras_dcgan.runs.checkpoint_store.make_checkpoint`: `generator`,
`discriminator`, `generator_average`, ... at its root), so a
`tf.train.Checkpoint` holding a freshly built G under the same name
restores exactly G's variables, and the rest of the file is left unread
(`expect_partial`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import RunError
from keras_dcgan.networks import build_discriminator, build_generator
from keras_dcgan.runs.checkpoint_index import complete_checkpoints
from keras_dcgan.runs.checkpoint_store import CheckpointStore
from keras_dcgan.runs.run_dir import CHECKPOINTS, check_literal_path, load_run_config

# The names `make_checkpoint` gives G, D and G's average in a checkpoint.
GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
AVERAGE = "generator_average"


def restore_models(
    run_dir: str,
    config: DCGANConfig | None = None,
    path: str | None = None,
    average: bool = False,
    discriminator: bool = True,
):
    """Rebuilds a run's networks from a checkpoint, reading only.

    The networks are built from the run's config, and only those asked
    for: the generator (or, with `average`, the generator average instead)
    and, with `discriminator`, D. No optimizer is built.

    Args:
        run_dir: The run directory.
        config: The run's config (default: its `config.json`).
        path: The checkpoint (`.../ckpt-N`); default: the newest readable
            one whose saved values are all finite (others are skipped with
            a warning).
        average: Return the generator average instead of the raw generator
            (the run must have one).
        discriminator: Restore D too (else None is returned in its place).

    Returns:
        (generator, discriminator): the generator is the average with
        `average`, else the raw generator.

    Raises:
        RunError: No checkpoint; `path` is not a complete checkpoint of
            regular files, cannot be read or holds NaN or infinite weights;
            the run's path holds a pattern character; or `average` is
            asked of a run without one.

    Example:
        >>> generator, _ = restore_models("runs/mnist", average=True)
    """
    check_literal_path(run_dir)
    config = config or load_run_config(run_dir)
    if average and not config.ema:
        raise RunError(no_average_message(run_dir))
    networks = {AVERAGE if average else GENERATOR: build_generator(config)}
    if discriminator:
        networks[DISCRIMINATOR] = build_discriminator(config)
    checkpoint = tf.train.Checkpoint(**networks)
    if path is None:
        CheckpointStore(
            os.path.join(run_dir, CHECKPOINTS),
            checkpoint,
            config.max_checkpoints,
            read_only=True,
            partial=True,
        ).restore_latest(all_finite_saved)
    else:
        _restore_chosen_path(checkpoint, path)
        if not all_finite_saved(path):
            raise RunError(
                f"{path} holds NaN or infinite weights (saved after a bad step "
                "by an older version); choose another with checkpoint=: "
                "latest skips such checkpoints."
            )
    generator = networks[AVERAGE if average else GENERATOR]
    return generator, networks.get(DISCRIMINATOR)


def restore_generator(
    run_dir: str,
    config: DCGANConfig | None = None,
    path: str | None = None,
    average: bool = False,
) -> keras.Model:
    """The generator (or, with `average`, its average) of a checkpoint:
    `restore_models` building G alone. Same arguments and errors."""
    return restore_models(run_dir, config, path, average, discriminator=False)[0]


def _restore_chosen_path(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restores checkpoint `path`, once it proves a complete one of regular
    files (a FIFO among them would hang the read)."""
    check_literal_path(path)
    directory, name = os.path.split(path)
    if name not in complete_checkpoints(directory or "."):
        raise RunError(
            f"{path} is not a complete checkpoint ({name}.index and every "
            "data file it names, as regular files); choose another with "
            "checkpoint=."
        )
    try:
        status = checkpoint.restore(path)
        status.assert_existing_objects_matched()
        status.expect_partial()
    except Exception as e:  # damage fails in many ways
        why = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise RunError(
            f"{path} cannot be read ({why}); choose another with checkpoint=."
        ) from e


def all_finite_saved(path: str) -> bool:
    """Whether every float tensor checkpoint `path` holds is finite: G, D,
    the optimizers' slots and G's average alike, though only G is built
    (a checkpoint saved after a bad step is skipped or refused whole).
    Read one tensor at a time; `path` must have proved a complete
    checkpoint of regular files."""
    reader = tf.train.load_checkpoint(path)
    for name, dtype in sorted(reader.get_variable_to_dtype_map().items()):
        if dtype.is_floating and not np.isfinite(reader.get_tensor(name)).all():
            return False
    return True


def all_finite(variables) -> bool:
    """Whether every float variable of `variables` is finite (one call)."""
    values = [v.value for v in variables if keras.backend.is_float_dtype(v.dtype)]
    if not values:
        return True
    return bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in values]))


def no_average_message(run_dir: str) -> str:
    """The error of asking the average (`generator="ema"`, `--generator
    ema`) of a run trained without one."""
    return (
        f"generator=ema: {run_dir} has no averaged generator: it was "
        "trained without ema=. Leave out generator= (or pass generator=raw) "
        "to read its generator, or train a run with ema=0.999 to "
        "keep an average of G's weights."
    )
