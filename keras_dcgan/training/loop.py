"""The training loop: tf.data in, `train_on_batch` steps, a run directory out.

A run survives what real runs meet: SIGINT/SIGTERM stop it at the next step
boundary with a checkpoint saved (exit code 128 + signal in the CLI); a
kill at any moment leaves the previous checkpoint intact; `--resume` goes
on at the exact step, data position and random state; a non-finite loss
stops it before anything is saved after the bad step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan import runs, visualize
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import ImageData, epoch_batches
from keras_dcgan.data.fingerprint import save_fingerprint
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.devices.precision import AUTO, describe_precision
from keras_dcgan.errors import TrainingCollapsed, TrainingInterrupted
from keras_dcgan.generator.latent import sample_latents
from keras_dcgan.runs.checkpoint_store import (
    CheckpointStore,
    TrainingState,
    checkpoint_variables,
    make_checkpoint,
    open_run_checkpoints,
)
from keras_dcgan.training.cadence import CheckpointCadence
from keras_dcgan.training.history import History
from keras_dcgan.training.monitor import FiniteGuard, Monitor
from keras_dcgan.training.periodic_eval import PeriodicEvaluator
from keras_dcgan.training.preflight import (  # noqa: F401  (public here before)
    Preflight,
    check_arguments,
    check_training_memory,
    checked_fingerprint,
    preflight,
)
from keras_dcgan.training.progress import Progress, resolve_verbose
from keras_dcgan.training.sample_grids import SampleGrids

logger = logging.getLogger(__name__)


def train(
    config: DCGANConfig,
    images: ImageData | np.ndarray | tf.data.Dataset,
    output_dir: str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose="auto",
    strategy=None,
    allow_data_change: bool = False,
) -> dict:
    """Trains a DCGAN and writes the run directory (see `keras_dcgan.runs`).

    Args:
        config: Hyperparameters.
        images: Training images: an `ImageData` from
            `keras_dcgan.load_images` / `from_array`, a NumPy array
            [N, H, W(, C)] (uint8, or float in [0, 1] or [-1, 1]), converted
            to the config's size and channels, or a finite, unbatched
            `tf.data.Dataset` of images already at that size and channels
            (uint8, or float in [-1, 1]; see `keras_dcgan.from_dataset`).
        output_dir: The run directory.
        resume: Continue from the run's latest checkpoint, at its step.
        overwrite: Replace a previous run in `output_dir`.
        callbacks: Keras callbacks; their `model` is the combined model
            (`model.layers[0]` is the generator). Setting
            `model.stop_training = True` ends training after the step.
        verbose: 0 silent, 1 a progress bar, 2 a plain log line every
            few steps (see `keras_dcgan.training.progress`), "auto" 1 on a
            terminal, else 2.
        strategy: The `tf.distribute.Strategy` to train under (default:
            `make_strategy(config.strategy)`). On a multi-worker run every
            worker calls `train` with the same arguments; the chief writes
            `output_dir` (see `keras_dcgan.runs.workers.worker_run_dir`).
        allow_data_change: On resume, go on with data whose fingerprint
            (count, shape, content hash; see `keras_dcgan.data.fingerprint`)
            differs from the run's; refused by default.

    Returns:
        The history: column name -> list of values, one per logged step.

    Raises:
        TrainingInterrupted: SIGINT/SIGTERM; a checkpoint was saved first.
        NonFiniteLossError: A loss or a weight became NaN or infinite.
        DataError: The images cannot be used (the message says why and
            the fix), or on resume, they differ from the run's.
        ConfigError: On resume, the architecture, batch size or seed
            differs from the run's.
        TrainingCollapsed: A collapse lasted and `stop_on_collapse` is set.
        RunError: `output_dir` does not fit the flags, or another process
            is writing it (`keras_dcgan.runs.runlock.RunLocked`).

    Example:
        >>> images = load_images(28, 1)
        >>> history = train(DCGANConfig(image_size=28, channels=1, epochs=1),
        ...                 images, "runs/demo")
    """
    # The arguments first, the verbosity next: as before the checks moved.
    check_arguments(
        config, output_dir, resume, overwrite, allow_data_change, callbacks, strategy
    )
    verbose = resolve_verbose(verbose)
    with contextlib.ExitStack() as hold:
        plan = preflight(
            config,
            images,
            output_dir,
            resume=resume,
            overwrite=overwrite,
            allow_data_change=allow_data_change,
            strategy=strategy,
            callbacks=callbacks,
            hold=hold,
        )
        return _train(plan, callbacks, verbose)


def _train(plan: Preflight, callbacks, verbose: int) -> dict:
    """Writes the run directory (after every check of `plan` passed), then
    trains."""
    asked = plan.config.precision
    plan.config = runs.prepare_run_dir(
        plan.run_dir, plan.config, plan.resume, plan.overwrite
    )
    _log_precision(asked, plan.config.precision, plan.resume)
    save_fingerprint(plan.fingerprint, os.path.join(plan.run_dir, runs.DATA))
    return _run(plan, callbacks, verbose)


def _log_precision(asked: str, precision: str, resume: bool) -> None:
    if resume and asked == AUTO:
        reason = "the run's own, kept on resume"
    else:
        reason = describe_precision(asked).reason
    logger.info("Precision: %s (%s); recorded in config.json.", precision, reason)


@dataclasses.dataclass
class _Run:
    """What one training run works with, opened once before its first step."""

    config: DCGANConfig
    images: ImageData
    dir: str
    gan: DCGAN
    state: TrainingState
    store: CheckpointStore
    guard: FiniteGuard
    history: History
    evaluator: PeriodicEvaluator | None
    steps_per_epoch: int


def _open(plan: Preflight) -> _Run:
    """Builds the models and restores (on resume) everything a run needs."""
    config, output_dir = plan.config, plan.run_dir
    keras.utils.set_random_seed(config.seed)
    gan = DCGAN(config, strategy=plan.strategy)
    state = TrainingState()
    checkpoint = make_checkpoint(gan, state)
    guard = FiniteGuard(checkpoint_variables(gan))
    store = open_run_checkpoints(
        output_dir,
        checkpoint,
        config.max_checkpoints,
        plan.resume,
        is_usable=lambda path: not guard.non_finite(),
    )
    if plan.resume:
        # The checkpoint restores the learning rates it was saved with; the
        # config (the run's, or the one changed on resume) decides.
        gan.discriminator.optimizer.learning_rate = (
            config.discriminator_learning_rate or config.learning_rate
        )
        gan.combined.optimizer.learning_rate = config.learning_rate
    evaluator = (
        PeriodicEvaluator(
            config, plan.images, checkpoint, store.directory, plan.extractor
        )
        if plan.extractor
        else None
    )
    history = History(
        os.path.join(output_dir, runs.HISTORY),
        keep_until=int(state.step),
        tensorboard_dir=os.path.join(output_dir, runs.TENSORBOARD),
        eval_name=config.eval_metric,
    )
    return _Run(
        config,
        plan.images,
        output_dir,
        gan,
        state,
        store,
        guard,
        history,
        evaluator,
        plan.steps_per_epoch,
    )


def _run(plan: Preflight, callbacks, verbose: int) -> dict:
    run = _open(plan)
    config = run.config
    # The latent batch behind every sample grid of the run.
    noise = sample_latents(config.num_samples, config.latent_dim, config.seed)
    grids = SampleGrids(
        noise,
        os.path.join(run.dir, runs.SAMPLES),
        summarize=run.history.summarize_images,
        generator=run.gan.sampled_generator,
    )
    run.history.summarize_config(dataclasses.asdict(config))
    callback_list = keras.callbacks.CallbackList(
        [grids, *(callbacks or [])],
        model=run.gan.combined,
        verbose=0,
        epochs=config.epochs,
        steps=run.steps_per_epoch,
    )
    _Loop(run, callback_list, verbose, plan.signals).train()
    return run.history.columns


class _Loop:
    """The epochs of one run: steps, then callbacks; checkpoints as due."""

    def __init__(self, run: _Run, callbacks, verbose: int, signals):
        self.run, self.callbacks, self.signals = run, callbacks, signals
        self.total_steps = (
            self.run.config.steps or self.run.config.epochs * self.run.steps_per_epoch
        )
        self.monitor = Monitor(self.run.config.collapse_patience)
        self.progress = Progress(
            verbose,
            self.total_steps,
            self.run.steps_per_epoch,
            self.run.config.batch_size,
            first_step=int(self.run.state.step),
        )
        self.cadence = CheckpointCadence(
            self.run.config.checkpoint_every, self.run.config.checkpoint_minutes
        )
        self.logs, self.collapse = {}, ""

    def train(self) -> None:
        self.callbacks.on_train_begin()
        self.start = time.time()
        try:
            with self.progress:  # the bar's line ends before what follows
                while not self.should_stop():
                    self.run_epoch()
        except Exception:
            self.run.history.flush()  # rows of the good steps, for the post-mortem
            raise
        if self.signals.received is not None:
            self.save_progress()
            raise TrainingInterrupted(self.signals.received, int(self.run.state.step))
        self.finish()
        self.callbacks.on_train_end(self.logs)
        if self.collapse:
            raise TrainingCollapsed(
                f"Stopped at step {int(self.run.state.step)} on {self.collapse} "
                "(stop_on_collapse=True); the run is saved."
            )

    def should_stop(self) -> bool:
        return (
            int(self.run.state.step) >= self.total_steps
            or bool(self.run.gan.combined.stop_training)
            or bool(self.collapse)
            or self.signals.received is not None
        )

    def run_epoch(self) -> None:
        epoch = int(self.run.state.epoch)
        self.callbacks.on_epoch_begin(epoch)
        self.progress.start_epoch(epoch)
        batches = epoch_batches(
            self.run.images,
            self.run.config.batch_size,
            self.run.config.seed,
            epoch,
            skip_batches=int(self.run.state.epoch_step),
        )
        for real in batches:
            self.train_step(real, epoch)
            self.progress.update(
                int(self.run.state.step),
                epoch,
                int(self.run.state.epoch_step),
                self.logs,
            )
            if self.should_stop():
                break
        # An epoch ends when its data does, even if the run stops with it.
        if (
            not self.should_stop()
            or int(self.run.state.epoch_step) >= self.run.steps_per_epoch
        ):
            self.run.state.epoch.assign_add(1)
            self.run.state.epoch_step.assign(0)
        self.run.history.flush()  # the curves follow each epoch, saved or not
        self.callbacks.on_epoch_end(epoch, self.logs)  # the grid first

    def train_step(self, real, epoch) -> None:
        step, batch = int(self.run.state.step) + 1, int(self.run.state.epoch_step)
        self.callbacks.on_train_batch_begin(batch)  # Keras: index in epoch
        logs = self.run.gan.train_step(real)
        event = self.monitor.check(step, logs, self.run.store.latest)
        # The step's update can leave NaN weights behind a finite loss.
        self.run.guard.check(step, self.run.store.latest)
        self.logs = logs
        self.run.state.step.assign_add(1)
        self.run.state.epoch_step.assign_add(1)
        row = dict(logs)
        if self.run.evaluator is not None and self.run.evaluator.due(step):
            row["eval"] = self.run.evaluator.evaluate(
                self.run.gan.sampled_generator, step
            )
        if (
            step % self.run.config.log_every == 0
            or event
            or "eval" in row
            or step == self.total_steps
        ):
            self.run.history.add(step, epoch + 1, row, time.time() - self.start, event)
        self.callbacks.on_train_batch_end(batch, logs)
        if event and self.run.config.stop_on_collapse:
            self.collapse = event
        if self.cadence.due(step):
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        self.run.guard.check(int(self.run.state.step), self.run.store.latest)
        self.run.history.flush()
        self.run.store.save(int(self.run.state.step))
        self.cadence.saved()

    def save_progress(self) -> None:
        """Checkpoint, history and loss plot: what a stopped run keeps."""
        self.save_checkpoint()
        if self.run.history.columns["step"]:
            visualize.save_loss_plot(
                self.run.history.columns, os.path.join(self.run.dir, runs.LOSSES)
            )

    def finish(self) -> None:
        self.save_progress()
        runs.save_model(
            self.run.gan.sampled_generator, os.path.join(self.run.dir, runs.GENERATOR)
        )
        if self.run.gan.average is not None:  # generator.keras is the average
            runs.save_model(
                self.run.gan.generator, os.path.join(self.run.dir, runs.GENERATOR_RAW)
            )
        runs.save_model(
            self.run.gan.discriminator, os.path.join(self.run.dir, runs.DISCRIMINATOR)
        )
        samples = os.path.join(self.run.dir, runs.SAMPLES)
        # Only the run's own grids: a link planted there is not read.
        frames = sorted(
            os.path.join(samples, f)
            for f in os.listdir(samples)
            if f.startswith("epoch_")
            and f.endswith(".png")
            and not os.path.islink(os.path.join(samples, f))
        )
        visualize.save_gif(frames, os.path.join(self.run.dir, runs.PROGRESS))
        logger.info(
            "Finished at step %d in %.1f s; run in %s.",
            int(self.run.state.step),
            time.time() - self.start,
            self.run.dir,
        )
