"""`DCGAN`: the composite of `keras_dcgan.composite`, ready for production.

It trains exactly as `CompositeDCGAN` does (the same `train_on_batch`
calls, the same freeze) and adds what real runs need around it:

- devices: models built in a `tf.distribute` strategy's scope, BatchNorm
  synchronized across replicas, every batch split per replica (see
  `keras_dcgan.devices.distribute`);
- kernels: XLA where it measured faster (`keras_dcgan.devices.kernels`), loss
  scaling under `mixed_float16`;
- checkpoints: optimizers built up front, so that a checkpoint restores
  their slots before the first step;
- the `diversity` signal that `keras_dcgan.training.monitor` watches for collapse;
- with `config.ema`, an average of G's weights (`averaging.py` beside it),
  updated after every step: the generator that is sampled and exported.
"""

from __future__ import annotations

import functools
import logging

import keras
import tensorflow as tf

from keras_dcgan.composite import CompositeDCGAN
from keras_dcgan.config import DCGANConfig
from keras_dcgan.dcgan.averaging import GeneratorAverage
from keras_dcgan.devices import distribute
from keras_dcgan.devices.kernels import hint_onednn, resolve_jit_compile
from keras_dcgan.devices.precision import resolve_precision
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import build_discriminator, build_generator, check_config

logger = logging.getLogger(__name__)


def _mean_pairwise_distance(images, count=32):
    x = tf.reshape(
        tf.cast(images[:count], tf.float32),
        (tf.minimum(tf.shape(images)[0], count), -1),
    )
    squares = tf.reduce_sum(x * x, axis=1)
    d2 = squares[:, None] + squares[None, :] - 2.0 * tf.matmul(x, x, transpose_b=True)
    distances = tf.sqrt(tf.maximum(d2, 0.0))
    n = tf.cast(tf.shape(x)[0], tf.float32)
    return tf.reduce_sum(distances) / tf.maximum(n * (n - 1.0), 1.0)


def _production_options(config: DCGANConfig, jit_compile: bool, options: dict) -> dict:
    """The lesson's `compile()` arguments with loss scaling under
    `mixed_float16` and `jit_compile`."""
    if resolve_precision(config.precision) == "mixed_float16":
        # float16 gradients underflow without it. (compile's auto_scale_loss
        # reads the model's policy, which a Sequential leaves float32.)
        optimizer = keras.optimizers.LossScaleOptimizer(options["optimizer"])
        options = dict(options, optimizer=optimizer)
    return dict(options, jit_compile=jit_compile)


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


class DCGAN(CompositeDCGAN):
    """The composite DCGAN on any device, with XLA and mixed precision.

    Args:
        config: Hyperparameters; see `DCGANConfig`.
        generator: An existing generator (default: a new one).
        discriminator: An existing discriminator (default: a new one).
        jit_compile: XLA for the train functions (default:
            `config.jit_compile`; "auto" picks by device, see
            `keras_dcgan.devices.kernels.resolve_jit_compile`).
        strategy: A `tf.distribute.Strategy` (default: the current one);
            the models are built in its scope and every batch is split
            across its replicas (see `keras_dcgan.devices.distribute`).

    Example:
        >>> gan = DCGAN(DCGANConfig(image_size=28, channels=1))
        >>> logs = gan.train_step(real_images)  # [batch, 28, 28, 1] in [-1, 1]
        >>> sorted(logs)
        ['d_loss', 'd_loss_fake', 'd_loss_real', 'd_of_fake', 'd_of_real',
         'diversity', 'g_loss']
    """

    def __init__(
        self,
        config: DCGANConfig,
        generator=None,
        discriminator=None,
        jit_compile=None,
        strategy=None,
    ):
        check_config(config)
        strategy = strategy or tf.distribute.get_strategy()
        replicas = strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ConfigError(
                f"batch_size={config.batch_size} must be a multiple of the "
                f"{replicas} replicas it is split across; use e.g. "
                f"batch_size={max(1, config.batch_size // replicas) * replicas}."
            )
        if jit_compile is None and config.jit_compile != "auto":
            jit_compile = config.jit_compile == "on"
        jit_compile = resolve_jit_compile(jit_compile)
        if jit_compile and replicas > 1:
            # One XLA cluster cannot reach variables mirrored on several
            # devices ("Trying to access resource ... located in device").
            logger.info("XLA is off: %d replicas.", replicas)
            jit_compile = False
        hint_onednn()
        with strategy.scope():
            # Several replicas: BatchNorm's batch statistics over the global
            # batch, so that a replica's slice is normalised as on one device.
            synchronized = distribute.is_distributed(strategy)
            if generator is None:
                generator = build_generator(config, synchronized)
            if discriminator is None:
                discriminator = build_discriminator(config, synchronized)
            super().__init__(
                config,
                generator,
                discriminator,
                options=functools.partial(_production_options, config, jit_compile),
                # Each label batch split across the replicas once, up front.
                labels=functools.partial(distribute.split_batch, strategy),
            )
            self.strategy, self.jit_compile = strategy, jit_compile
            self._prepare_for_production(synchronized)
            self.average = (
                GeneratorAverage(self.generator, config.ema) if config.ema else None
            )

    def _prepare_for_production(self, synchronized: bool) -> None:
        # Optimizers built now, each with the variables it will update, so
        # that a checkpoint can restore their slots before the first step.
        self.discriminator.optimizer.build(self.discriminator_weights)
        self.combined.optimizer.build(self.generator.trainable_variables)
        # (Not XLA: it updates the seed generator, which a strategy mirrors.)
        self._noise = tf.function(self._latents, jit_compile=False)
        self._diversity = tf.function(diversity, jit_compile=self.jit_compile)
        if not synchronized:
            self._forward = tf.function(self._fakes, jit_compile=self.jit_compile)
        else:
            # strategy.run inside one tf.function, as Keras' train step:
            # the replicas' collectives (synchronized BatchNorm) must be
            # traced together to be matched.
            self._forward = tf.function(
                lambda z: self.strategy.run(self._fakes, args=(z,))
            )
            self._build_metrics()
        if isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            for model in (self.discriminator, self.combined, *self._pair()):
                model.train_step = distribute.vector_logs(model.train_step)

    def _pair(self) -> tuple:
        """The model D trains as with `discriminator_update="summed"`, if so."""
        return (self.pair,) if hasattr(self, "pair") else ()

    def _build_metrics(self) -> None:
        # Keras builds a compiled model's loss and metrics from the first
        # batch it is given, which it cannot read from per-replica values;
        # build them from shapes alone (no step is run). Private API, as
        # `fit` itself uses under a strategy: Keras has no public way to
        # build compiled losses and metrics from shapes, and the public
        # `compute_loss`/`compute_metrics` would update the metrics' state.
        size, channels = self.config.image_size, self.config.channels
        labels = tf.zeros((self.config.batch_size, 1))
        images = tf.zeros((self.config.batch_size, size, size, channels))
        z = tf.zeros((self.config.batch_size, self.config.latent_dim))
        self.discriminator._symbolic_build(data_batch=(images, labels, None))
        self.combined._symbolic_build(data_batch=(z, labels, None))
        for pair in self._pair():
            pair_labels = {"real": labels, "fake": labels}
            pair._symbolic_build(data_batch=([images, images], pair_labels, None))

    def _split(self, tensor):
        return distribute.split_batch(self.strategy, tensor)

    def _latents(self):
        return keras.random.normal(
            (self.config.batch_size, self.config.latent_dim), seed=self.seed_generator
        )

    def _fakes(self, z):
        return self.generator(z, training=True)

    def make_fakes(self):
        """(z, G(z)) for one global batch, from the current generator.

        Under a strategy with several replicas both are per-replica values:
        z is drawn for the global batch, then split, so the fakes do not
        depend on how many replicas there are.
        """
        z = self._split(self._noise())
        return z, self._forward(z)

    def discriminator_step(self, real_images, fakes) -> dict:
        return super().discriminator_step(self._split(real_images), fakes)

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
        # The lesson's step, spelled out: the fakes are needed after it.
        z, fakes = self.make_fakes()
        logs = self.discriminator_step(real_images, fakes)
        logs.update(self.generator_step(z))
        if self.average is not None:
            self.average.update()
        local_fakes = distribute.local_batch(self.strategy, fakes)
        logs["diversity"] = float(self._diversity(real_images, local_fakes))
        return logs

    @property
    def sampled_generator(self) -> keras.Model:
        """The generator to sample and export: the average when on."""
        return self.average.model if self.average is not None else self.generator

    def generate(self, z) -> tf.Tensor:
        """Images in [-1, 1] for latent vectors `z` (inference mode), from
        `sampled_generator`."""
        return self.sampled_generator(z, training=False)
