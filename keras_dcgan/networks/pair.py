"""D on a step's real and fake batches at once, and the metric of D's output.

`discriminator_pair` is the model that `discriminator_update="summed"`
trains in D's step: one `train_on_batch` of it is one Adam step on both
batches' summed gradients, as the PyTorch reference's D step
(docs/PARITY.md, "The summed D update").
"""

import keras


def discriminator_pair(discriminator: keras.Model) -> keras.Model:
    """D on a real and a fake batch at once.

    Args:
        discriminator: D; the pair shares its layers and weights.

    Returns:
        `[real, fake] -> {"real": D(real), "fake": D(fake)}`. Compiled with
        one loss per output, Keras sums them: one optimizer step on both
        gradients, each batch normalised by its own BatchNorm statistics, as
        two forward passes in PyTorch.
    """
    shape = discriminator.input_shape[1:]
    real, fake = keras.Input(shape, name="real"), keras.Input(shape, name="fake")
    outputs = {"real": discriminator(real), "fake": discriminator(fake)}
    return keras.Model([real, fake], outputs, name="discriminator_pair")


def pair_of(discriminator: keras.Model, options: dict) -> keras.Model:
    """The pair of `discriminator`, compiled with D's `compile()` arguments
    `options` and D's own optimizer, so that D has one set of slots either
    way; the metrics are D's output's on the real batch."""
    pair = discriminator_pair(discriminator)
    options = dict(options, optimizer=discriminator.optimizer)
    pair.compile(**dict(options, metrics={"real": options["metrics"]}))
    return pair


def train_pair(pair: keras.Model, real_images, fakes, real_labels, fake_labels):
    """One `train_on_batch` of the pair; returns D's logs on the real and on
    the fake batch, as two `train_on_batch` calls of D would."""
    labels = {"real": real_labels, "fake": fake_labels}
    logs = pair.train_on_batch([real_images, fakes], labels, return_dict=True)
    real = {"loss": logs["real_loss"], "mean_output": logs["real_mean_output"]}
    return real, {"loss": logs["fake_loss"]}


@keras.saving.register_keras_serializable(package="keras_dcgan")
class MeanPrediction(keras.metrics.Mean):
    """Mean of D's output: D(x) on reals, D(G(z)) on fakes."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_pred, sample_weight=sample_weight)
