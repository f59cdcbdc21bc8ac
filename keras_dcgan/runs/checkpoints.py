"""Checkpoints that survive crashes: save, clean up, restore with fallback.

`tf.train.CheckpointManager` writes a checkpoint's files first and its index
(`checkpoints/checkpoint`) last, atomically, so a run killed while saving
still has its previous checkpoint intact. What such a kill leaves behind
(temporary shards, files the index never listed) is removed when the run is
reopened, and a checkpoint that turns out unreadable falls back to the one
before it, with a warning. A resumed run never starts from scratch
silently. Opened `read_only` (by `sample`, `export`, ...), the store
changes nothing: no clean-up, no index rebuilt.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import signal

import tensorflow as tf

from keras_dcgan.config import DCGANConfig
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.errors import RunError, RunWriteError
from keras_dcgan.runs.run_dir import CHECKPOINTS, claim_run, load_run_config

logger = logging.getLogger(__name__)

_NUMBERED = re.compile(r"ckpt-(\d+)(?:\.index|\.data-\d+-of-\d+|_temp.*)$")


class TrainingState(tf.Module):
    """Counters saved with the weights: where a resumed run goes on."""

    def __init__(self):
        super().__init__()
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        # Batches of the current epoch already trained on.
        self.epoch_step = tf.Variable(0, dtype=tf.int64, name="epoch_step")


def make_checkpoint(gan: DCGAN, state: TrainingState) -> tf.train.Checkpoint:
    """Everything that decides the rest of a run: both models, both
    optimizers' slots, the noise generator's state, the counters and, with
    `config.ema`, the generator average."""
    average = gan.average.trackables() if gan.average is not None else {}
    return tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        discriminator_optimizer=gan.discriminator.optimizer,
        generator_optimizer=gan.combined.optimizer,
        noise_seed=gan.seed_generator.state,
        state=state,
        **average,
    )


def checkpoint_variables(gan: DCGAN) -> list:
    """The weights and optimizer variables a checkpoint holds."""
    average = gan.average.model.weights if gan.average is not None else []
    return (
        gan.generator.weights
        + gan.discriminator.weights
        + gan.discriminator.optimizer.variables
        + gan.combined.optimizer.variables
        + average
    )


class CheckpointStore:
    """The checkpoints of one run directory.

    Args:
        directory: `RUN/checkpoints`.
        checkpoint: The `tf.train.Checkpoint` to save and restore.
        max_to_keep: Checkpoints kept; older ones are deleted on save.
        read_only: Only restore: write and delete nothing, not even what an
            interrupted save left; without an index, the complete
            checkpoint files are read as if listed.
    """

    def __init__(
        self,
        directory: str,
        checkpoint: tf.train.Checkpoint,
        max_to_keep: int,
        read_only: bool = False,
    ):
        self.directory = directory
        self.checkpoint = checkpoint
        self.read_only = read_only
        listed = _listed_checkpoints(directory)
        # Without an index, a reader takes the complete files as listed.
        self.unindexed = (
            [] if listed else sorted(complete_checkpoints(directory), key=_number)
        )
        if not read_only:
            os.makedirs(directory, exist_ok=True)
            _remove_leftovers(directory, listed)
        self.manager = tf.train.CheckpointManager(
            checkpoint, directory, max_to_keep=max_to_keep
        )
        self._saved_step = None

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def save(self, step: int) -> str:
        """Saves at `step` (once: a second call for the same step is a no-op).

        A checkpoint of the same number left by an earlier process (one
        that `restore_latest` had to skip) is replaced.
        """
        if self.read_only:
            raise RunError(f"{self.directory} was opened read-only.")
        if self._saved_step == step:
            return self.latest
        _test_hook_kill_during_save(self.directory, step)
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as e:
            raise RunWriteError(
                f"Cannot write a checkpoint in {self.directory} ({e}). Free "
                "disk space or fix its permissions; the previous checkpoints "
                "are intact, so --resume goes on from the last one."
            ) from e
        self._saved_step = step
        logger.info("Saved checkpoint %s.", path)
        return path

    def restore_latest(self, is_usable=None) -> str:
        """Restores the newest readable checkpoint, newest first.

        Args:
            is_usable: Called after each restore; False (e.g. the weights
                are not finite: a checkpoint written by an older version
                after a bad step) means "try the one before".

        Returns:
            The restored checkpoint's path.

        Raises:
            RunError: There is none, or none can be read.
        """
        candidates = list(reversed(self.manager.checkpoints)) or [
            os.path.join(self.directory, name) for name in reversed(self.unindexed)
        ]
        if not candidates:
            raise RunError(
                f"--resume: {self.directory} holds no complete checkpoint; "
                "start the run again with --overwrite."
            )
        failures = []
        for path in candidates:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            # A damaged file fails in many ways (OpError, IndexError, ...);
            # each means "try the one before".
            except Exception as e:  # noqa: BLE001
                failures.append(f"{os.path.basename(path)}: {e}".split("\n")[0])
                logger.warning(
                    "Checkpoint %s is unreadable (%s); trying the one before it.",
                    path,
                    failures[-1],
                )
                continue
            if is_usable is not None and not is_usable():
                failures.append(
                    f"{os.path.basename(path)}: holds NaN or infinite weights"
                )
                logger.warning(
                    "Checkpoint %s holds non-finite weights; trying the one before it.",
                    path,
                )
                continue
            return path
        raise RunError(
            f"--resume: no checkpoint in {self.directory} can be "
            "read:\n  " + "\n  ".join(failures)
        )


def open_run_checkpoints(
    run_dir: str,
    checkpoint: tf.train.Checkpoint,
    max_to_keep: int,
    resume: bool,
    is_usable=None,
) -> CheckpointStore:
    """The checkpoint store a training run writes; on resume, restored first.

    The restore only reads: a directory is tidied (leftovers removed, index
    rebuilt), and a run of an earlier version marked as a run, only once
    its checkpoint has proved to be one of ours.

    Args:
        run_dir: The run directory.
        checkpoint: From `make_checkpoint`.
        max_to_keep: Checkpoints kept.
        resume: Restore the newest readable checkpoint into `checkpoint`.
        is_usable: See `CheckpointStore.restore_latest`.

    Returns:
        The store to save into.
    """
    directory = os.path.join(run_dir, CHECKPOINTS)
    if resume:
        path = CheckpointStore(
            directory, checkpoint, max_to_keep, read_only=True
        ).restore_latest(is_usable)
        claim_run(run_dir)
        logger.info("Resumed from %s at step %d.", path, int(checkpoint.state.step))
    return CheckpointStore(directory, checkpoint, max_to_keep)


def restore_models(
    run_dir: str,
    config: DCGANConfig | None = None,
    path: str | None = None,
    average: bool = False,
):
    """Rebuilds a run's models from a checkpoint, reading only.

    The models are built from the run's config, its generator average
    included when it has one (`config.ema`), so that the checkpoint
    restores whole.

    Args:
        run_dir: The run directory.
        config: The run's config (default: its `config.json`).
        path: The checkpoint (`.../ckpt-N`); default: the newest readable.
        average: Return the generator average instead of the raw generator
            (the run must have one).

    Returns:
        (generator, discriminator): the generator is the average with
        `average`, else the raw generator.

    Raises:
        RunError: No checkpoint, `path` cannot be read, or `average` is
            asked of a run without one.

    Example:
        >>> generator, _ = restore_models("runs/mnist", average=True)
    """
    config = config or load_run_config(run_dir)
    if average and not config.ema:
        raise RunError(no_average_message(run_dir))
    gan = DCGAN(config)
    checkpoint = make_checkpoint(gan, TrainingState())
    if path is None:
        CheckpointStore(
            os.path.join(run_dir, CHECKPOINTS),
            checkpoint,
            config.max_checkpoints,
            read_only=True,
        ).restore_latest()
    else:
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as e:  # damage fails in many ways
            why = (str(e).splitlines() or [type(e).__name__])[0][:200]
            raise RunError(
                f"{path} cannot be read ({why}); choose another with --checkpoint."
            ) from e
    generator = gan.average.model if average else gan.generator
    return generator, gan.discriminator


def no_average_message(run_dir: str) -> str:
    """The error of `--generator ema` on a run trained without `--ema`."""
    return (
        f"--generator ema: {run_dir} has no averaged generator: it was "
        "trained without --ema. Leave out --generator (or pass --generator "
        "raw) to read its generator, or train a run with --ema 0.999 to "
        "keep an average of G's weights."
    )


def _test_hook_kill_during_save(directory: str, step: int) -> None:
    """Fault injection for the crash tests: at the step named by the
    environment variable, die by SIGKILL half-way through a save, leaving
    what a real kill leaves (a temp shard and a partial data file)."""
    if os.environ.get("KERAS_DCGAN_TEST_KILL_DURING_SAVE") != str(step):
        return
    prefix = os.path.join(directory, f"ckpt-{step}")
    os.makedirs(prefix + "_temp", exist_ok=True)
    with open(
        os.path.join(prefix + "_temp", "part-00000-of-00001.data-00000-of-00001"), "wb"
    ) as f:
        f.write(b"\0" * 64)
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(b"partial")
    os.kill(os.getpid(), signal.SIGKILL)


def _listed_checkpoints(directory: str) -> list:
    """Checkpoint paths in the index; a clear error if it cannot be read."""
    index = os.path.join(directory, "checkpoint")
    if not os.path.exists(index):
        return []
    try:
        state = tf.train.get_checkpoint_state(directory)
    except Exception as e:  # text_format raises its own ParseError
        state, error = None, e
    else:
        error = None
    if state is None or not state.model_checkpoint_path:
        raise RunError(
            f"The checkpoint index {index} is empty or unreadable"
            f"{f' ({error})' if error else ''}. Nothing was changed. Delete "
            f"that file to rebuild it from the newest complete checkpoint "
            f"files, then run again with --resume."
        )
    return list(state.all_model_checkpoint_paths)


def _remove_leftovers(directory: str, listed: list) -> None:
    """Deletes what a killed save left: temp shards, files never indexed."""
    keep = {os.path.basename(p) for p in listed}
    if not listed:
        keep = complete_checkpoints(directory)
        if keep:
            _rebuild_index(directory, sorted(keep, key=_number))
    for path in glob.glob(os.path.join(directory, "ckpt-*")):
        name = os.path.basename(path)
        match = _NUMBERED.match(name)
        if not match or f"ckpt-{match.group(1)}" in keep:
            continue
        logger.warning("Removing %s, left by an interrupted save.", path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def complete_checkpoints(directory: str) -> set:
    """ckpt-N prefixes with an index and every data shard it names."""
    complete = set()
    for index in glob.glob(os.path.join(directory, "ckpt-*.index")):
        prefix = index[: -len(".index")]
        shards = glob.glob(prefix + ".data-*-of-*")
        if shards:
            total = int(shards[0].rsplit("-of-", 1)[1])
            if len(shards) == total:
                complete.add(os.path.basename(prefix))
    return complete


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _rebuild_index(directory: str, names: list) -> None:
    logger.warning(
        "No checkpoint index in %s; rebuilding it from %s.", directory, ", ".join(names)
    )
    paths = [os.path.join(directory, n) for n in names]
    # The manager only tracks (and rotates) checkpoints newer than the last
    # "preserved" time, so the rebuilt index carries their file times.
    times = [os.path.getmtime(p + ".index") for p in paths]
    tf.compat.v1.train.update_checkpoint_state(
        directory,
        paths[-1],
        all_model_checkpoint_paths=paths,
        all_model_checkpoint_timestamps=times,
        last_preserved_timestamp=min(times) - 1,
    )
