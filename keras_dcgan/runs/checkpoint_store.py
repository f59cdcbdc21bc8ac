"""Checkpoints that survive crashes, the write side: save, resume.

`tf.train.CheckpointManager` writes a checkpoint's files first and its index
(`checkpoints/checkpoint`) last, atomically, so a run killed while saving
still has its previous checkpoint intact. What such a kill leaves behind
(temporary shards, files the index never listed) is removed when the run is
reopened (`keras_dcgan.runs.checkpoint_index`), and a checkpoint that turns
out unreadable falls back to the one before it, with a warning. A resumed
run never starts from scratch silently. Opened `read_only` (by `sample`,
`export`, ...), the store changes nothing: no clean-up, no index rebuilt.

Only the run's own files are ever opened or deleted: the run's path must
hold no pattern character, and only the index entries that name a
complete `ckpt-N` of this very folder count (see
`keras_dcgan.runs.checkpoint_index`). A reader retries when training
rotates a checkpoint away under it, and skips (or, chosen, refuses) a
checkpoint holding non-finite weights.

Nothing here builds a model: `make_checkpoint` takes a built trainer (a
`keras_dcgan.dcgan.DCGAN`), so this module sits below it.
"""

from __future__ import annotations

import logging
import os
import time

import tensorflow as tf

from keras_dcgan.errors import RunError, RunWriteError
from keras_dcgan.runs.checkpoint_index import (
    checkpoint_number,
    complete_checkpoints,
    read_index,
    tidy_index,
)
from keras_dcgan.runs.run_dir import CHECKPOINTS, check_literal_path, claim_run

logger = logging.getLogger(__name__)

# How often a reader re-reads the index when training rotates the
# checkpoints it listed away before they could be restored.
RESTORE_TRIES = 5


class TrainingState(tf.Module):
    """Counters saved with the weights: where a resumed run goes on."""

    def __init__(self):
        super().__init__()
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        # Batches of the current epoch already trained on.
        self.epoch_step = tf.Variable(0, dtype=tf.int64, name="epoch_step")


def make_checkpoint(gan, state: TrainingState) -> tf.train.Checkpoint:
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


def checkpoint_variables(gan) -> list:
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
        warn: Log the index entries that are ignored (not the run's own);
            off where another store of the same folder just did.
        partial: `checkpoint` holds part of what was saved (a reader's
            generator alone): what it does not hold is left unread,
            silently.

    Raises:
        RunError: `directory` holds a pattern character; writable, its
            index or checkpoint files are not regular files, or the index
            cannot be read.
    """

    def __init__(
        self,
        directory: str,
        checkpoint: tf.train.Checkpoint,
        max_to_keep: int,
        read_only: bool = False,
        warn: bool = True,
        partial: bool = False,
    ):
        check_literal_path(directory)
        self.directory = directory
        self.checkpoint = checkpoint
        # Made now, not by the first restore: one that fails half-way (its
        # checkpoint rotated away meanwhile) would leave the counter's
        # restore pending on the vanished files, failing every later one.
        checkpoint.save_counter  # noqa: B018
        self.read_only = read_only
        self.partial = partial
        self.manager = None  # a reader never relies on what it would list
        self._saved_step = None
        if not read_only:
            os.makedirs(directory, exist_ok=True)
            # The manager deletes, rotating, whatever the index lists: it
            # must list nothing but the run's own checkpoints when it reads it.
            tidy_index(directory, warn)
            self.manager = tf.train.CheckpointManager(
                checkpoint, directory, max_to_keep=max_to_keep
            )

    @property
    def latest(self):
        if self.manager is not None:
            return self.manager.latest_checkpoint
        found = self.checkpoints()
        return found[-1] if found else None

    def checkpoints(self, warn: bool = False) -> list:
        """The run's own complete checkpoints, oldest first, read now.

        Those the index lists (other entries are ignored), else, without
        an index or with none of its own listed, every complete one.
        """
        names = read_index(self.directory, warn).own or sorted(
            complete_checkpoints(self.directory), key=checkpoint_number
        )
        return [os.path.join(self.directory, name) for name in names]

    def save(self, step: int) -> str:
        """Saves at `step` (once: a second call for the same step is a no-op).

        A checkpoint of the same number left by an earlier process (one
        that `restore_latest` had to skip) is replaced.
        """
        if self.read_only:
            raise RunError(f"{self.directory} was opened read-only.")
        if self._saved_step == step:
            return self.latest
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as e:
            raise RunWriteError(
                f"Cannot write a checkpoint in {self.directory} ({e}). Free "
                "disk space or fix its permissions; the previous checkpoints "
                "are intact, so resume=True goes on from the last one."
            ) from e
        self._saved_step = step
        logger.info("Saved checkpoint %s.", path)
        return path

    def restore_latest(self, is_usable=None, resuming: bool = False) -> str:
        """Restores the newest readable checkpoint, newest first.

        A checkpoint that training rotates away while it is being read
        (a reader beside a running training) is no failure: the index is
        read again, up to `RESTORE_TRIES` times (a reader's unreadable
        index too).

        Args:
            is_usable: Called with the checkpoint's path after each
                restore; False (e.g. the weights are not finite: a
                checkpoint written by an older version after a bad step)
                means "try the one before".
            resuming: For `--resume`, whose messages name its fixes;
                otherwise a reader's.

        Returns:
            The restored checkpoint's path.

        Raises:
            RunError: There is none, or none can be read.
        """
        failures, vanished = [], False
        for attempt in range(RESTORE_TRIES):
            failures, vanished = [], False
            try:
                candidates = self.checkpoints(warn=attempt == 0)
            except RunError:
                # A reader beside a training may catch the index as it is
                # replaced; only one that stays unreadable is an error.
                if not self.read_only or attempt + 1 == RESTORE_TRIES:
                    raise
                time.sleep(0.1)
                continue
            for path in reversed(candidates):
                try:
                    status = self.checkpoint.restore(path)
                    status.assert_existing_objects_matched()
                    if self.partial:
                        status.expect_partial()
                    # (Within the try: the files may vanish meanwhile.)
                    usable = is_usable is None or is_usable(path)
                # A damaged file fails in many ways (OpError, IndexError, ...);
                # each means "try the one before".
                except Exception as e:  # noqa: BLE001
                    if os.path.basename(path) not in complete_checkpoints(
                        self.directory
                    ):
                        vanished = True  # rotated away meanwhile
                        continue
                    failures.append(f"{os.path.basename(path)}: {e}".split("\n")[0])
                    logger.warning(
                        "Checkpoint %s is unreadable (%s); trying the one before it.",
                        path,
                        failures[-1],
                    )
                    continue
                if not usable:
                    failures.append(
                        f"{os.path.basename(path)}: holds NaN or infinite weights"
                    )
                    logger.warning(
                        "Checkpoint %s holds non-finite weights; trying the one "
                        "before it.",
                        path,
                    )
                    continue
                return path
            if not vanished:
                break
        raise RunError(self._failure_message(failures, vanished, resuming))

    def _failure_message(self, failures: list, vanished: bool, resuming: bool) -> str:
        if failures and resuming:
            return (
                f"resume=True: no checkpoint in {self.directory} can be "
                "read:\n  " + "\n  ".join(failures)
            )
        if failures:
            return (
                f"No checkpoint in {self.directory} can be read ("
                + "; ".join(failures)
                + "); choose another with checkpoint=STEP, or train the run on."
            )
        if vanished:
            return (
                f"The checkpoints in {self.directory} were replaced faster than "
                f"they could be read, {RESTORE_TRIES} times; read again."
            )
        if resuming:
            return (
                f"resume=True: {self.directory} holds no complete checkpoint; "
                "start the run again with overwrite=True."
            )
        return (
            f"{self.directory} holds no complete checkpoint yet: its training "
            "has not saved one. Wait for the first checkpoint (every "
            "checkpoint_every= steps or checkpoint_minutes=), then read "
            "the run again."
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
        ).restore_latest(is_usable, resuming=True)
        claim_run(run_dir)
        logger.info("Resumed from %s at step %d.", path, int(checkpoint.state.step))
    # On resume, the reading store has named the ignored entries already.
    return CheckpointStore(directory, checkpoint, max_to_keep, warn=not resume)
