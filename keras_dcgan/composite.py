"""The frozen-discriminator composite: how a Keras DCGAN trains, in one page.

D learns to tell real images (label 1) from fakes (label 0); G learns through
`combined = Sequential([G, D])`, trained to call its fakes real while D is
frozen. On Keras 3 two details decide whether that works:

1. `trainable` is read when a model's train function is first traced, not at
   `compile()`: the classic recipe (compile D; `D.trainable = False`; compile
   combined) traces D's own step frozen, and D never learns. Here the freeze
   is set before every call, so each model is traced in the state it needs.
2. A frozen BatchNormalization layer runs in inference mode. Freezing D's
   *variables* instead keeps its layers training: D judges the fakes with
   batch statistics, as the PyTorch reference, and still does not move
   (`frozen_bn_stats="moving"` freezes the layers, for comparison).

D takes an Adam step on the real batch, then one on the fakes (the Keras
recipe); `discriminator_update="summed"`, one on both (the PyTorch one).

`keras_dcgan.dcgan.DCGAN` adds devices, XLA, mixed precision and checkpoints.
"""

import keras

from keras_dcgan.networks import build_discriminator, build_generator
from keras_dcgan.networks.blocks import set_momentum_per_call
from keras_dcgan.networks.pair import MeanPrediction, pair_of, train_pair


class CompositeDCGAN:
    """A generator, a discriminator, and the combined model that trains G.

    Args:
        config: Hyperparameters; see `DCGANConfig`.
        generator: An existing generator (default: a new one).
        discriminator: An existing discriminator (default: a new one).
        options: Applied to each model's `compile_options()` (default: none).
        labels: Applied to each batch of labels (default: none).
    """

    def __init__(
        self, config, generator=None, discriminator=None, options=None, labels=None
    ):
        if generator is None:
            generator = build_generator(config)
        if discriminator is None:
            discriminator = build_discriminator(config)
        self.config = config
        self.generator, self.discriminator = generator, discriminator
        # G runs twice a step on one z: its statistics move once, as PyTorch's.
        set_momentum_per_call(generator, calls_per_step=2)
        self.combined = keras.Sequential([generator, discriminator], name="combined")
        # D's weights, taken while everything is trainable (BatchNorm's
        # moving averages are not among them: they are never trained).
        self.discriminator_weights = list(self.discriminator.trainable_weights)

        options, labels = options or dict, labels or (lambda batch: batch)
        d_rate = config.discriminator_learning_rate or config.learning_rate
        self.set_discriminator_frozen(False)
        self.discriminator.compile(**options(self.compile_options(d_rate)))
        if config.discriminator_update == "summed":
            self.pair = pair_of(discriminator, options(self.compile_options(d_rate)))
        self.set_discriminator_frozen(True)
        self.combined.compile(**options(self.compile_options(config.learning_rate)))
        self.set_discriminator_frozen(False)  # as a user inspecting D expects

        self.seed_generator = keras.random.SeedGenerator(config.seed)
        ones = keras.ops.ones((config.batch_size, 1))
        self.real_labels = labels(ones * (1.0 - config.label_smoothing))  # one-sided
        self.fake_labels = labels(keras.ops.zeros((config.batch_size, 1)))
        self.generator_labels = labels(ones)

    def compile_options(self, learning_rate: float) -> dict:
        """`compile()` arguments of a model: BCE, Adam(learning_rate, 0.5)."""
        adam = keras.optimizers.Adam(learning_rate, beta_1=self.config.beta_1)
        metrics = [MeanPrediction(name="mean_output")]
        return dict(optimizer=adam, loss="binary_crossentropy", metrics=metrics)

    def set_discriminator_frozen(self, frozen: bool) -> None:
        """Freezes D's variables (batch statistics) or its layers (moving)."""
        if self.config.frozen_bn_stats == "batch":
            self.discriminator.trainable = True
            for variable in self.discriminator_weights:
                variable.trainable = not frozen
        else:
            self.discriminator.trainable = not frozen

    def make_fakes(self):
        """(z, G(z)) for one batch; G in training mode, as the reference."""
        shape = (self.config.batch_size, self.config.latent_dim)
        z = keras.random.normal(shape, seed=self.seed_generator)
        return z, self.generator(z, training=True)

    def discriminator_step(self, real_images, fakes) -> dict:
        """Trains D on a real batch, then a fake one (or both at once: summed)."""
        self.set_discriminator_frozen(False)
        labels = self.real_labels, self.fake_labels
        if self.config.discriminator_update == "summed":
            real, fake = train_pair(self.pair, real_images, fakes, *labels)
        else:
            d = self.discriminator
            real = d.train_on_batch(real_images, labels[0], return_dict=True)
            fake = d.train_on_batch(fakes, labels[1], return_dict=True)
        losses = {"d_loss_real": real["loss"], "d_loss_fake": fake["loss"]}
        d_loss = 0.5 * (real["loss"] + fake["loss"])
        return {**losses, "d_loss": d_loss, "d_of_real": real["mean_output"]}

    def generator_step(self, z) -> dict:
        """Trains G through the frozen D: it wants its fakes called real."""
        self.set_discriminator_frozen(True)
        logs = self.combined.train_on_batch(z, self.generator_labels, return_dict=True)
        return {"g_loss": logs["loss"], "d_of_fake": logs["mean_output"]}

    def train_step(self, real_images) -> dict:
        """One DCGAN step on real images in [-1, 1]: D twice, then G."""
        z, fakes = self.make_fakes()
        logs = self.discriminator_step(real_images, fakes)
        logs.update(self.generator_step(z))
        return logs
