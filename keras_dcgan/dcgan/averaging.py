"""An exponential moving average of the generator's weights (EMA).

Sampling from an average of G's recent weights instead of the last ones
smooths out the oscillation of adversarial training (Yazici et al., "The
Unusual Effectiveness of Averaging in GAN Training", ICLR 2019). The average
trains nothing: the composite learns exactly as without it, and only the
generator that is sampled, evaluated and exported changes.

Every weight of G is averaged, BatchNorm's moving mean and variance too, so
that the averaged generator in inference mode normalises with statistics of
the same span of training as its weights.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class GeneratorAverage:
    """A copy of a generator whose weights follow the generator's average.

    After the n-th update (n = 1, 2, ...) every averaged weight is
    `d * average + (1 - d) * weight` with `d = decay`, or, with `warmup`,
    `d = min(decay, (1 + n) / (10 + n))` (the schedule of
    `tf.train.ExponentialMovingAverage`'s `num_updates`): early in training
    the average follows G closely instead of holding on to its random
    initial weights for about `1 / (1 - decay)` steps.

    Args:
        generator: The generator to average; it is not changed.
        decay: In (0, 1); 0.999 averages over about the last 1,000 steps
            (with `warmup`, from step 9,000 on; about the last n / 9 before).
        warmup: Ramp the decay up from 0.1 as above.

    Example:
        >>> average = GeneratorAverage(gan.generator, decay=0.999)
        >>> gan.train_step(real_images)
        >>> average.update()
        >>> images = average.model(z, training=False)
    """

    def __init__(self, generator: keras.Model, decay: float, warmup: bool = True):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay={decay!r} must be in (0, 1).")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.model = keras.models.clone_model(generator)
        self.model.set_weights(generator.get_weights())
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates")
        self._pairs = list(zip(self.model.weights, generator.weights))
        self._update = tf.function(self._apply, jit_compile=False)

    def current_decay(self, updates: int) -> float:
        """The decay of the `updates`-th update (1 for the first)."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + updates) / (10.0 + updates))

    def _apply(self):
        n = tf.cast(self.updates + 1, tf.float32)
        decay = tf.constant(self.decay, tf.float32)
        if self.warmup:
            decay = tf.minimum(decay, (1.0 + n) / (10.0 + n))
        for average, weight in self._pairs:
            d = tf.cast(decay, average.dtype)
            average.assign(d * average + (1.0 - d) * tf.cast(weight, average.dtype))
        self.updates.assign_add(1)

    def update(self) -> None:
        """Moves the average one step towards the generator's weights."""
        self._update()

    def trackables(self) -> dict:
        """What a `tf.train.Checkpoint` must hold to resume the average."""
        return {"generator_average": self.model, "average_updates": self.updates}
