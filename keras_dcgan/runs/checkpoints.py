"""Checkpoints that survive crashes: save, clean up, restore with fallback.

`tf.train.CheckpointManager` writes a checkpoint's files first and its index
(`checkpoints/checkpoint`) last, atomically, so a run killed while saving
still has its previous checkpoint intact. What such a kill leaves behind
(temporary shards, files the index never listed) is removed when the run is
reopened, and a checkpoint that turns out unreadable falls back to the one
before it, with a warning. A resumed run never starts from scratch
silently. Opened `read_only` (by `sample`, `export`, ...), the store
changes nothing: no clean-up, no index rebuilt.

Only the run's own files are ever opened or deleted. The manager deletes
(rotating) whatever the index lists, and TensorFlow reads the paths it is
given as patterns; so the run's path must hold no pattern character, and
an index entry counts only when it names a complete `ckpt-N` of this very
folder made of regular files. Other entries (absolute paths elsewhere,
`../`, links leading out, patterns, FIFOs) are ignored with one warning,
and dropped from the index before a manager reads it. A FIFO is never
opened: every file is checked with `lstat` first. A reader retries when
training rotates a checkpoint away under it, and skips (or, chosen,
refuses) a checkpoint holding non-finite weights.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import stat
import time

import keras
import tensorflow as tf

from keras_dcgan.atomic import write_text
from keras_dcgan.config import DCGANConfig
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.errors import RunError, RunWriteError
from keras_dcgan.runs.run_dir import (
    CHECKPOINT_FILE,
    CHECKPOINTS,
    INDEX,
    PATTERN_CHARACTERS,
    check_literal_path,
    claim_run,
    load_run_config,
    not_regular,
    refuse_special_checkpoint_files,
)

logger = logging.getLogger(__name__)

_NUMBERED = re.compile(r"ckpt-(\d+)(?:\.index|\.data-\d+-of-\d+|_temp.*)")
_CHECKPOINT = re.compile(r"ckpt-\d+")
# An index of a thousand checkpoints (the most a run keeps) is under 100 KB.
MAX_INDEX_BYTES = 1 << 20
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
        warn: Log the index entries that are ignored (not the run's own);
            off where another store of the same folder just did.

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
    ):
        check_literal_path(directory)
        self.directory = directory
        self.checkpoint = checkpoint
        # Made now, not by the first restore: one that fails half-way (its
        # checkpoint rotated away meanwhile) would leave the counter's
        # restore pending on the vanished files, failing every later one.
        checkpoint.save_counter  # noqa: B018
        self.read_only = read_only
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
        names = _read_index(self.directory, warn).own or sorted(
            complete_checkpoints(self.directory), key=_number
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

    def restore_latest(self, is_usable=None, resuming: bool = False) -> str:
        """Restores the newest readable checkpoint, newest first.

        A checkpoint that training rotates away while it is being read
        (a reader beside a running training) is no failure: the index is
        read again, up to `RESTORE_TRIES` times (a reader's unreadable
        index too).

        Args:
            is_usable: Called after each restore; False (e.g. the weights
                are not finite: a checkpoint written by an older version
                after a bad step) means "try the one before".
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
                    self.checkpoint.restore(path).assert_existing_objects_matched()
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
                if is_usable is not None and not is_usable():
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
                f"--resume: no checkpoint in {self.directory} can be "
                "read:\n  " + "\n  ".join(failures)
            )
        if failures:
            return (
                f"No checkpoint in {self.directory} can be read ("
                + "; ".join(failures)
                + "); choose another with --checkpoint STEP, or train the run on."
            )
        if vanished:
            return (
                f"The checkpoints in {self.directory} were replaced faster than "
                f"they could be read, {RESTORE_TRIES} times; read again."
            )
        if resuming:
            return (
                f"--resume: {self.directory} holds no complete checkpoint; "
                "start the run again with --overwrite."
            )
        return (
            f"{self.directory} holds no complete checkpoint yet: its training "
            "has not saved one. Wait for the first checkpoint (every "
            "--checkpoint-every steps or --checkpoint-minutes), then read "
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
        path: The checkpoint (`.../ckpt-N`); default: the newest readable
            one whose weights are finite (others are skipped with a
            warning).
        average: Return the generator average instead of the raw generator
            (the run must have one).

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
    gan = DCGAN(config)
    checkpoint = make_checkpoint(gan, TrainingState())
    variables = checkpoint_variables(gan)
    if path is None:
        CheckpointStore(
            os.path.join(run_dir, CHECKPOINTS),
            checkpoint,
            config.max_checkpoints,
            read_only=True,
        ).restore_latest(lambda: all_finite(variables))
    else:
        _restore_chosen_path(checkpoint, path)
        if not all_finite(variables):
            raise RunError(
                f"{path} holds NaN or infinite weights (saved after a bad step "
                "by an older version); choose another with --checkpoint: "
                "latest skips such checkpoints."
            )
    generator = gan.average.model if average else gan.generator
    return generator, gan.discriminator


def _restore_chosen_path(checkpoint: tf.train.Checkpoint, path: str) -> None:
    """Restores checkpoint `path`, once it proves a complete one of regular
    files (a FIFO among them would hang the read)."""
    check_literal_path(path)
    directory, name = os.path.split(path)
    if name not in complete_checkpoints(directory or "."):
        raise RunError(
            f"{path} is not a complete checkpoint ({name}.index and every "
            "data file it names, as regular files); choose another with "
            "--checkpoint."
        )
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except Exception as e:  # damage fails in many ways
        why = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise RunError(
            f"{path} cannot be read ({why}); choose another with --checkpoint."
        ) from e


def all_finite(variables) -> bool:
    """Whether every float variable of `variables` is finite (one call)."""
    values = [v.value for v in variables if keras.backend.is_float_dtype(v.dtype)]
    if not values:
        return True
    return bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in values]))


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


def tidy_index(directory: str, warn: bool = True) -> list:
    """Makes a checkpoint folder safe for a `tf.train.CheckpointManager`.

    The manager deletes, when it rotates, whatever the index lists, and
    hangs on a FIFO; so before one reads the folder: its checkpoint files
    must be regular files, the index is rewritten (atomically) to list
    only the folder's own complete checkpoints (rebuilt from their files
    when it lists none, removed when there are none), and what an
    interrupted save left is removed. Nothing outside the folder is
    opened or deleted.

    Args:
        directory: `RUN/checkpoints` or `RUN/checkpoints/best`.
        warn: Log the entries that are ignored.

    Returns:
        The names of the checkpoints kept, oldest first.

    Raises:
        RunError: A pattern character in its path; a checkpoint file or
            the index is not a regular file; the index cannot be read.
    """
    check_literal_path(directory)
    refuse_special_checkpoint_files(directory)
    index = _read_index(directory, warn)
    keep = index.own
    if not keep:
        keep = sorted(complete_checkpoints(directory), key=_number)
        if keep:
            _rebuild_index(directory, keep, index.exists)
        elif index.exists:
            logger.warning(
                "Removing the checkpoint index %s: it lists no checkpoint of "
                "that folder.",
                os.path.join(directory, INDEX),
            )
            os.remove(os.path.join(directory, INDEX))
    elif not index.canonical:
        times = index.times
        last = index.last_preserved
        if None in times:
            times = _file_times(directory, keep)
            last = min(times) - 1
        _write_index(directory, keep, times, last)
    _remove_leftovers(directory, set(keep))
    return keep


@dataclasses.dataclass
class _Index:
    """What a checkpoint folder's index lists, checked."""

    exists: bool
    own: list  # its own complete checkpoints listed (names), oldest first
    times: list  # their recorded times (None where not recorded)
    last_preserved: float
    canonical: bool  # lists exactly `own`, as TensorFlow writes them


def _read_index(directory: str, warn: bool) -> _Index:
    """The index of `directory`, its entries checked (see the module's doc).

    Raises:
        RunError: It is not a regular file, or cannot be read.
    """
    index = os.path.join(directory, INDEX)
    if not os.path.lexists(index):
        return _Index(False, [], [], 0.0, True)
    kind = not_regular(index)
    if kind:
        raise RunError(
            f"The checkpoint index {index} is a {kind}, not the file "
            "TensorFlow writes; nothing was changed. Delete it to rebuild it "
            "from the newest complete checkpoint files, then run again."
        )
    state, error = None, None
    size = os.lstat(index).st_size
    if size > MAX_INDEX_BYTES:
        error = f"{size} bytes, over {MAX_INDEX_BYTES}"
    else:
        try:
            state = tf.train.get_checkpoint_state(directory)
        except Exception as e:  # text_format raises its own ParseError
            error = e
    if state is None or not state.model_checkpoint_path:
        raise RunError(
            f"The checkpoint index {index} is empty or unreadable"
            f"{f' ({error})' if error else ''}. Nothing was changed. Delete "
            "that file to rebuild it from the newest complete checkpoint "
            "files, then run again."
        )
    entries = list(state.all_model_checkpoint_paths)
    times = list(state.all_model_checkpoint_timestamps)
    if len(times) != len(entries):
        times = [None] * len(entries)
    if state.model_checkpoint_path not in entries:
        entries.append(state.model_checkpoint_path)
        times.append(None)
    complete, special = _scan(directory)
    own, own_times, ignored = [], [], []
    for entry, recorded in zip(entries, times):
        name = _own_name(directory, entry)
        if name is None or name in special:
            if entry not in ignored:
                ignored.append(entry)
        elif name in complete and name not in own:
            own.append(name)
            own_times.append(recorded)
        # Else its files are gone: rotated away by training meanwhile.
    if ignored and warn:
        shown = ", ".join(repr(e[:200]) for e in ignored[:5])
        more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        logger.warning(
            "Ignoring %d entries of the checkpoint index %s that are not "
            "complete checkpoints of that folder made of regular files (never "
            "opened or deleted): %s%s.",
            len(ignored),
            index,
            shown,
            more,
        )
    canonical = (
        entries == [os.path.join(directory, name) for name in own]
        and state.model_checkpoint_path == entries[-1]
    )
    return _Index(True, own, own_times, state.last_preserved_timestamp, canonical)


def _own_name(directory: str, entry: str) -> str | None:
    """`ckpt-N` if index entry `entry` names a checkpoint of `directory`
    itself (through no pattern and no link leading elsewhere), else None."""
    name = os.path.basename(entry)
    if not _CHECKPOINT.fullmatch(name) or any(c in entry for c in PATTERN_CHARACTERS):
        return None
    if os.path.realpath(os.path.dirname(entry)) != os.path.realpath(directory):
        return None
    return name


def _scan(directory: str) -> tuple:
    """(complete, special): the `ckpt-N` whose index and every data shard
    are regular files; those with a file that is not (a FIFO, a link, ...).
    Only `lstat` is used: nothing is opened."""
    try:
        names = os.listdir(directory)
    except OSError:
        return set(), set()
    indexes, shards, special = set(), {}, set()
    for name in names:
        match = CHECKPOINT_FILE.fullmatch(name)
        if not match:
            continue
        prefix = match.group(1)
        try:
            mode = os.lstat(os.path.join(directory, name)).st_mode
        except FileNotFoundError:  # rotated away since the listing
            continue
        if not stat.S_ISREG(mode):
            special.add(prefix)
        elif match.group(2) is None:
            indexes.add(prefix)
        else:
            shards.setdefault(prefix, set()).add(
                (int(match.group(2)), int(match.group(3)))
            )
    complete = set()
    for prefix in indexes - special:
        parts = shards.get(prefix, set())
        totals = {total for _, total in parts}
        if len(totals) == 1:
            (total,) = totals
            if len(parts) == total and all(i < total for i, _ in parts):
                complete.add(prefix)
    return complete, special


def complete_checkpoints(directory: str) -> set:
    """ckpt-N prefixes with an index and every data shard it names, all
    regular files (checked without opening them)."""
    return _scan(directory)[0]


def _remove_leftovers(directory: str, keep: set) -> None:
    """Deletes what a killed save left: temp shards, files never indexed."""
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        match = _NUMBERED.fullmatch(name)
        if not match or f"ckpt-{match.group(1)}" in keep:
            continue
        path = os.path.join(directory, name)
        logger.warning("Removing %s, left by an interrupted save.", path)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _file_times(directory: str, names: list) -> list:
    return [os.path.getmtime(os.path.join(directory, n + ".index")) for n in names]


def _rebuild_index(directory: str, names: list, had_index: bool) -> None:
    logger.warning(
        "%s; rebuilding it from %s.",
        f"The checkpoint index of {directory} lists none of its checkpoints"
        if had_index
        else f"No checkpoint index in {directory}",
        ", ".join(names),
    )
    # The manager only tracks (and rotates) checkpoints newer than the last
    # "preserved" time, so the rebuilt index carries their file times.
    times = _file_times(directory, names)
    _write_index(directory, names, times, min(times) - 1)


def _write_index(directory: str, names: list, times: list, last: float) -> None:
    """Writes the index as TensorFlow does (names relative to the folder),
    atomically."""
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    lines += [f"all_model_checkpoint_timestamps: {float(t)!r}" for t in times]
    lines.append(f"last_preserved_timestamp: {float(last)!r}")
    write_text(os.path.join(directory, INDEX), "\n".join(lines) + "\n")
