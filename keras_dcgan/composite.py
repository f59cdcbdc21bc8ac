"""The composite DCGAN: a discriminator, and a generator trained through it.

The Keras recipe stacks the discriminator under the generator in one
`keras.Sequential([generator, discriminator])` and freezes the
discriminator there, so that the combined model's optimizer only moves the
generator. On Keras 3 two details decide whether that works:

1. `trainable` is read when a model's train function is first traced (its
   first `train_on_batch`), not at `compile()`. The classic recipe (compile D;
   `D.trainable = False`; compile the combined model; train) traces D's own
   step while D is already frozen, so D never learns. Here the flag is set
   right before every call, so each model is traced, and run, in the state
   it is meant to have.
2. A BatchNormalization layer whose `trainable` is False runs in inference
   mode (moving statistics). Freezing D's *layers* therefore changes what D
   computes in the generator's step. Freezing D's *variables* instead
   (`variable.trainable = False`) leaves the layers in training mode: D then
   judges the fakes with batch statistics, as the PyTorch reference does,
   and its weights still do not move. `frozen_bn_stats` picks one of the two.
"""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

from keras_dcgan import distribute
from keras_dcgan.config import ConfigError, DCGANConfig
from keras_dcgan.kernels import hint_onednn, resolve_jit_compile
from keras_dcgan.models import build_discriminator, build_generator

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="keras_dcgan")
class MeanPrediction(keras.metrics.Mean):
    """Mean of the discriminator's output: D(x) on reals, D(G(z)) on fakes."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_pred, sample_weight=sample_weight)


def _adam(config: DCGANConfig) -> keras.optimizers.Optimizer:
    adam = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    if config.precision == "mixed_float16":
        # float16 gradients underflow without it. (compile's auto_scale_loss
        # looks at the model's own policy, which a Sequential leaves float32.)
        return keras.optimizers.LossScaleOptimizer(adam)
    return adam


def _mean_pairwise_distance(images, count=32):
    x = tf.reshape(tf.cast(images[:count], tf.float32),
                   (tf.minimum(tf.shape(images)[0], count), -1))
    squares = tf.reduce_sum(x * x, axis=1)
    d2 = squares[:, None] + squares[None, :] - 2.0 * tf.matmul(x, x,
                                                               transpose_b=True)
    distances = tf.sqrt(tf.maximum(d2, 0.0))
    n = tf.cast(tf.shape(x)[0], tf.float32)
    return tf.reduce_sum(distances) / tf.maximum(n * (n - 1.0), 1.0)


def diversity(real_images, fake_images) -> tf.Tensor:
    """Mean pairwise distance within fakes over the same within reals.

    About 1 when the fakes vary as much as real images; near 0 when the
    generator has collapsed to (nearly) one image; NaN when the real batch
    itself has no spread (constant images), where the ratio means nothing.
    Computed on 32 images of each batch, so it is cheap enough for every
    step.
    """
    real = _mean_pairwise_distance(real_images)
    ratio = _mean_pairwise_distance(fake_images) / tf.maximum(real, 1e-8)
    return tf.where(real > 1e-6, ratio, float("nan"))


class DCGAN:
    """A generator, a discriminator and the combined model that trains G.

    Each `train_step` makes fakes from the current generator, trains the
    discriminator on a real and on a fake batch, and trains the generator
    through the frozen discriminator, all three with `train_on_batch`.

    Args:
        config: Hyperparameters; see `DCGANConfig`.
        generator: An existing generator (default: a new one).
        discriminator: An existing discriminator (default: a new one).
        jit_compile: XLA for the train functions (default:
            `config.jit_compile`; "auto" picks by device, see
            `keras_dcgan.kernels.resolve_jit_compile`).
        strategy: A `tf.distribute.Strategy` (default: the current one);
            the models are built in its scope and every batch is split
            across its replicas (see `keras_dcgan.distribute`).

    Example:
        >>> gan = DCGAN(DCGANConfig(image_size=28, channels=1))
        >>> logs = gan.train_step(real_images)  # [batch, 28, 28, 1] in [-1, 1]
        >>> sorted(logs)
        ['d_loss', 'd_loss_fake', 'd_loss_real', 'd_of_fake', 'd_of_real',
         'diversity', 'g_loss']
    """

    def __init__(self, config: DCGANConfig, generator=None,
                 discriminator=None, jit_compile=None, strategy=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ConfigError(
                f"batch_size={config.batch_size} must be a multiple of the "
                f"{replicas} replicas it is split across; use e.g. "
                f"--batch-size {max(1, config.batch_size // replicas) * replicas}.")
        if jit_compile is None and config.jit_compile != "auto":
            jit_compile = config.jit_compile == "on"
        self.jit_compile = resolve_jit_compile(jit_compile)
        if self.jit_compile and replicas > 1:
            # One XLA cluster cannot reach variables mirrored on several
            # devices ("Trying to access resource ... located in device").
            logger.info("XLA is off: %d replicas.", replicas)
            self.jit_compile = False
        hint_onednn()
        with self.strategy.scope():
            self._build(generator, discriminator)

    def _build(self, generator, discriminator) -> None:
        config, jit = self.config, self.jit_compile
        # Several replicas: BatchNorm's batch statistics over the global
        # batch, so that a replica's slice is normalised as on one device.
        synchronized = distribute.is_distributed(self.strategy)
        self.generator = generator or build_generator(config, synchronized)
        self.discriminator = discriminator or build_discriminator(
            config, synchronized)
        self.combined = keras.Sequential(
            [self.generator, self.discriminator], name="combined")
        # The weights a frozen discriminator must keep still, taken while
        # everything is trainable (BatchNorm's moving averages are not).
        self._discriminator_weights = list(
            self.discriminator.trainable_weights)
        loss = keras.losses.BinaryCrossentropy()

        self.set_discriminator_frozen(False)
        self.discriminator.compile(
            optimizer=_adam(config), loss=loss, jit_compile=jit,
            metrics=[MeanPrediction(name="mean_output")])
        # Build the optimizers now, each with the variables it will update,
        # so a checkpoint can restore their slots before the first step.
        self.discriminator.optimizer.build(
            self.discriminator.trainable_variables)
        self.set_discriminator_frozen(True)
        self.combined.compile(
            optimizer=_adam(config), loss=loss, jit_compile=jit,
            metrics=[MeanPrediction(name="mean_output")])
        self.combined.optimizer.build(self.combined.trainable_variables)
        self.set_discriminator_frozen(False)  # as a user inspecting D expects

        self.seed_generator = keras.random.SeedGenerator(config.seed)
        batch = config.batch_size
        real_target = 1.0 - config.label_smoothing  # one-sided smoothing
        self._real_labels = self._split(tf.fill((batch, 1), real_target))
        self._fake_labels = self._split(tf.zeros((batch, 1)))
        self._generator_labels = self._split(tf.ones((batch, 1)))
        # (Not XLA: it updates the seed generator, which a strategy mirrors.)
        self._noise = tf.function(self._latents, jit_compile=False)
        self._diversity = tf.function(diversity, jit_compile=jit)
        if not synchronized:
            self._forward = tf.function(self._fakes, jit_compile=jit)
        else:
            # strategy.run inside one tf.function, as Keras' train step:
            # the replicas' collectives (synchronized BatchNorm) must be
            # traced together to be matched.
            self._forward = tf.function(lambda z: self.strategy.run(
                self._fakes, args=(z,)))
            self._build_metrics()
        if isinstance(self.strategy,
                      tf.distribute.MultiWorkerMirroredStrategy):
            for model in (self.discriminator, self.combined):
                model.train_step = distribute.vector_logs(model.train_step)

    def _build_metrics(self) -> None:
        # Keras builds a compiled model's loss and metrics from the first
        # batch it is given, which it cannot read from per-replica values;
        # build them from shapes alone (no step is run).
        size, channels = self.config.image_size, self.config.channels
        labels = tf.zeros((self.config.batch_size, 1))
        images = tf.zeros((self.config.batch_size, size, size, channels))
        z = tf.zeros((self.config.batch_size, self.config.latent_dim))
        self.discriminator._symbolic_build(data_batch=(images, labels, None))
        self.combined._symbolic_build(data_batch=(z, labels, None))

    def _split(self, tensor):
        return distribute.split_batch(self.strategy, tensor)

    def set_discriminator_frozen(self, frozen: bool) -> None:
        """Freezes or unfreezes the discriminator's weights.

        With `frozen_bn_stats="batch"` the variables are frozen and the
        layers stay trainable, so BatchNorm keeps using batch statistics
        (and updating its moving averages) inside the combined model. With
        "moving" the layers are frozen, so BatchNorm uses moving averages.
        """
        if self.config.frozen_bn_stats == "batch":
            self.discriminator.trainable = True
            for variable in self._discriminator_weights:
                variable.trainable = not frozen
        else:
            self.discriminator.trainable = not frozen

    def _latents(self):
        return keras.random.normal(
            (self.config.batch_size, self.config.latent_dim),
            seed=self.seed_generator)

    def _fakes(self, z):
        # Training mode, as the reference: fakes come from batch statistics.
        return self.generator(z, training=True)

    def train_step(self, real_images) -> dict:
        """Runs one DCGAN step on a batch of real images in [-1, 1].

        Args:
            real_images: Tensor [batch_size, H, W, C], float32 in [-1, 1];
                `batch_size` must equal `config.batch_size`.

        Returns:
            Dict of Python floats: `d_loss_real`, `d_loss_fake`, `d_loss`
            (their mean), `g_loss`, `d_of_real` (mean D(x)) and `d_of_fake`
            (mean D(G(z)) in the generator's step), `diversity` (spread of
            the fakes over the spread of the real batch; see `diversity`).
        """
        z, fakes = self.make_fakes()
        logs = self.discriminator_step(real_images, fakes)
        logs.update(self.generator_step(z))
        local_fakes = distribute.local_batch(self.strategy, fakes)
        logs["diversity"] = float(self._diversity(real_images, local_fakes))
        return logs

    def make_fakes(self):
        """(z, G(z)) for one global batch, from the current generator.

        Under a strategy with several replicas both are per-replica values:
        z is drawn for the global batch, then split, so the fakes do not
        depend on how many replicas there are.
        """
        z = self._split(self._noise())
        return z, self._forward(z)

    def discriminator_step(self, real_images, fakes) -> dict:
        """Trains D on a real batch, then on a fake batch."""
        self.set_discriminator_frozen(False)
        real = self.discriminator.train_on_batch(
            self._split(real_images), self._real_labels, return_dict=True)
        fake = self.discriminator.train_on_batch(
            fakes, self._fake_labels, return_dict=True)
        return {
            "d_loss_real": real["loss"],
            "d_loss_fake": fake["loss"],
            "d_loss": 0.5 * (real["loss"] + fake["loss"]),
            "d_of_real": real["mean_output"],
        }

    def generator_step(self, z) -> dict:
        """Trains G through the frozen D: it wants its fakes called real."""
        self.set_discriminator_frozen(True)
        logs = self.combined.train_on_batch(
            z, self._generator_labels, return_dict=True)
        return {"g_loss": logs["loss"], "d_of_fake": logs["mean_output"]}

    def generate(self, z) -> tf.Tensor:
        """Images in [-1, 1] for latent vectors `z` (inference mode)."""
        return self.generator(z, training=False)
