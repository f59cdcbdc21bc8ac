"""The training loop: tf.data in, `train_on_batch` steps, a run directory out."""

from __future__ import annotations

import csv
import logging
import os
import time
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan import runs, visualize
from keras_dcgan.composite import DCGAN
from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import DataError, ImageData, epoch_batches

logger = logging.getLogger(__name__)

METRICS = ("d_loss_real", "d_loss_fake", "d_loss", "g_loss", "d_of_real",
           "d_of_fake")
HISTORY_COLUMNS = ("step", "epoch") + METRICS + ("seconds",)


class TrainingState(tf.Module):
    """Counters saved with the weights: where a resumed run goes on."""

    def __init__(self):
        super().__init__()
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, name="epoch")
        # Batches of the current epoch already trained on.
        self.epoch_step = tf.Variable(0, dtype=tf.int64, name="epoch_step")


def make_checkpoint(gan: DCGAN, state: TrainingState) -> tf.train.Checkpoint:
    """Everything that decides the rest of a run: weights, optimizer slots,
    the noise generator's state and the counters."""
    return tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        discriminator_optimizer=gan.discriminator.optimizer,
        generator_optimizer=gan.combined.optimizer,
        noise_seed=gan.seed_generator.state,
        state=state,
    )


def restore_models(run_dir: str, config: Optional[DCGANConfig] = None):
    """Rebuilds a run's models from its latest checkpoint.

    Returns:
        (generator, discriminator).
    """
    config = config or runs.load_run_config(run_dir)
    path = runs.latest_checkpoint(run_dir)
    if path is None:
        raise runs.RunError(f"{run_dir} has no checkpoint to restore.")
    gan = DCGAN(config)
    make_checkpoint(gan, TrainingState()).restore(path).expect_partial()
    return gan.generator, gan.discriminator


def fixed_noise(config: DCGANConfig) -> np.ndarray:
    """The latent batch behind every sample grid of a run."""
    rng = np.random.default_rng(config.seed)
    return rng.standard_normal(
        (config.num_samples, config.latent_dim)).astype(np.float32)


def train(config: DCGANConfig, images: ImageData, output_dir: str, *,
          resume: bool = False, overwrite: bool = False,
          callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
          verbose: int = 1) -> dict:
    """Trains a DCGAN and writes the run directory (see `keras_dcgan.runs`).

    Args:
        config: Hyperparameters.
        images: Training images from `keras_dcgan.data.load_images`.
        output_dir: The run directory.
        resume: Continue from the run's latest checkpoint, at its step.
        overwrite: Replace a previous run in `output_dir`.
        callbacks: Keras callbacks; their `model` is the combined model
            (`model.layers[0]` is the generator). Setting
            `model.stop_training = True` ends training after the step.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Returns:
        The history: column name -> list of values, one per logged step.

    Example:
        >>> images = load_images(28, 1)
        >>> history = train(DCGANConfig(image_size=28, channels=1, epochs=1),
        ...                 images, "runs/demo")
    """
    steps_per_epoch = images.num_images // config.batch_size
    if steps_per_epoch == 0:
        raise DataError(
            f"{images.description}: fewer images than one batch "
            f"({config.batch_size}); lower --batch-size.")
    config = runs.prepare_run_dir(output_dir, config, resume, overwrite)
    keras.utils.set_random_seed(config.seed)
    gan = DCGAN(config)
    state = TrainingState()
    checkpoint = make_checkpoint(gan, state)
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(output_dir, runs.CHECKPOINTS),
        max_to_keep=config.max_checkpoints)
    if resume:
        _restore(checkpoint, manager, output_dir)
    history = _History(os.path.join(output_dir, runs.HISTORY),
                       keep_until=int(state.step))
    total_steps = config.steps or config.epochs * steps_per_epoch
    callback_list = keras.callbacks.CallbackList(
        callbacks, model=gan.combined, verbose=0, epochs=config.epochs,
        steps=steps_per_epoch)
    loop = _Loop(config, images, output_dir, gan, state, manager, history,
                 callback_list, verbose, total_steps, steps_per_epoch)
    loop.run()
    return history.columns


def _restore(checkpoint, manager, output_dir):
    if manager.latest_checkpoint is None:
        raise runs.RunError(
            f"--resume: {output_dir} has no checkpoint yet; start again "
            "with --overwrite.")
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    logger.info("Resumed from %s at step %d.", manager.latest_checkpoint,
                int(checkpoint.state.step))


class _Loop:
    """One training run: the epochs, and what is written at their ends."""

    def __init__(self, config, images, output_dir, gan, state, manager,
                 history, callbacks, verbose, total_steps, steps_per_epoch):
        self.config, self.images, self.dir = config, images, output_dir
        self.gan, self.state, self.manager = gan, state, manager
        self.history, self.callbacks, self.verbose = history, callbacks, verbose
        self.total_steps, self.steps_per_epoch = total_steps, steps_per_epoch
        self.noise = fixed_noise(config)
        self.logs = {}

    def run(self) -> None:
        self.callbacks.on_train_begin()
        self.start = time.time()
        while not self.should_stop():
            self.run_epoch()
        self.finish()
        self.callbacks.on_train_end(self.logs)

    def should_stop(self) -> bool:
        return (int(self.state.step) >= self.total_steps
                or bool(self.gan.combined.stop_training))

    def run_epoch(self) -> None:
        epoch = int(self.state.epoch)
        self.callbacks.on_epoch_begin(epoch)
        progbar = keras.utils.Progbar(self.steps_per_epoch, verbose=self.verbose)
        if self.verbose:
            print(f"Epoch {epoch + 1}")
        batches = epoch_batches(self.images, self.config.batch_size,
                                self.config.seed, epoch,
                                skip_batches=int(self.state.epoch_step))
        for real in batches:
            self.train_step(real, epoch)
            progbar.update(int(self.state.epoch_step), list(self.logs.items()))
            if self.should_stop():
                break
        # An epoch ends when its data does, even if the run stops with it.
        if (not self.should_stop()
                or int(self.state.epoch_step) >= self.steps_per_epoch):
            self.state.epoch.assign_add(1)
            self.state.epoch_step.assign(0)
            if not self.config.checkpoint_every:
                self.save_checkpoint()
        self.save_samples(epoch)
        self.callbacks.on_epoch_end(epoch, self.logs)

    def train_step(self, real, epoch) -> None:
        step, batch = int(self.state.step), int(self.state.epoch_step)
        self.callbacks.on_train_batch_begin(batch)  # Keras: index in epoch
        self.logs = self.gan.train_step(real)
        self.state.step.assign_add(1)
        self.state.epoch_step.assign_add(1)
        step += 1
        if step % self.config.log_every == 0 or step == self.total_steps:
            self.history.add(step, epoch, self.logs, time.time() - self.start)
        self.callbacks.on_train_batch_end(batch, self.logs)
        every = self.config.checkpoint_every
        if every and step % every == 0:
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        step = int(self.state.step)
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(f"-{step}"):
            return
        self.history.flush()
        path = self.manager.save(checkpoint_number=step)
        logger.info("Saved checkpoint %s.", path)

    def save_samples(self, epoch: int) -> None:
        images = self.gan.generate(self.noise).numpy()
        path = os.path.join(self.dir, runs.SAMPLES, f"epoch_{epoch + 1:04d}.png")
        visualize.save_png(visualize.image_grid(images), path)

    def finish(self) -> None:
        self.save_checkpoint()
        self.history.flush()
        runs.save_model(self.gan.generator, os.path.join(self.dir, runs.GENERATOR))
        runs.save_model(self.gan.discriminator,
                        os.path.join(self.dir, runs.DISCRIMINATOR))
        if self.history.columns["step"]:
            visualize.save_loss_plot(self.history.columns,
                                     os.path.join(self.dir, runs.LOSSES))
        samples = os.path.join(self.dir, runs.SAMPLES)
        frames = sorted(os.path.join(samples, f) for f in os.listdir(samples)
                        if f.startswith("epoch_") and f.endswith(".png"))
        visualize.save_gif(frames, os.path.join(self.dir, runs.PROGRESS))
        logger.info("Finished at step %d in %.1f s; run in %s.",
                    int(self.state.step), time.time() - self.start, self.dir)


def _parse_row(row: dict) -> dict:
    return {k: int(row[k]) if k in ("step", "epoch") else float(row[k])
            for k in HISTORY_COLUMNS}


class _History:
    """history.csv, kept in memory for the loss plot and appended on disk.

    On resume, rows logged after the restored checkpoint are dropped: the
    resumed run logs those steps again.
    """

    def __init__(self, path: str, keep_until: int):
        self.path = path
        self.columns = {name: [] for name in HISTORY_COLUMNS}
        self.pending = []
        if keep_until and os.path.isfile(path):
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    if int(row["step"]) <= keep_until:
                        self._append(_parse_row(row))
        self._rewrite()

    def _append(self, row: dict) -> None:
        for name in HISTORY_COLUMNS:
            self.columns[name].append(row[name])

    def _rewrite(self) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HISTORY_COLUMNS)
            writer.writerows(zip(*(self.columns[n] for n in HISTORY_COLUMNS)))
        os.replace(tmp, self.path)

    def add(self, step: int, epoch: int, logs: dict, seconds: float) -> None:
        row = dict(logs, step=step, epoch=epoch + 1, seconds=round(seconds, 3))
        self._append(row)
        self.pending.append([row[n] for n in HISTORY_COLUMNS])

    def flush(self) -> None:
        if self.pending:
            with open(self.path, "a", newline="") as f:
                csv.writer(f).writerows(self.pending)
            self.pending = []
