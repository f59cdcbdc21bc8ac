"""Differentiable augmentation of the discriminator's inputs (DiffAugment).

Zhao et al. (2020), "Differentiable Augmentation for Data-Efficient GAN
Training": D sees randomly shifted, cut-out or recoloured images, real and
fake alike, and G's gradient flows back through the same transformations.
Here it is the first layer of D's `keras.Sequential`, so the composite keeps
its shape: D's own step augments both batches, and the combined model,
whose D layers still train (see `keras_dcgan.composite`), augments the fakes
G learns from. Outside training (`training=False`) the layer passes images
through unchanged.

Every transformation is arithmetic on the batch (one-hot shift matrices, a
mask, affine colour changes), so it is differentiable, runs under XLA and
mixed precision, and needs no image-warping kernel.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_dcgan.config import AUGMENTATIONS

TRANSLATION_RATIO = 0.125  # the largest shift, as a share of the side
CUTOUT_RATIO = 0.5  # the side of the square cut out, as a share


def translate(images, rows, columns):
    """Shifts each image down by `rows[i]` and right by `columns[i]` pixels;
    what comes in from outside is 0 (mid-grey in [-1, 1])."""
    height, width = images.shape[1], images.shape[2]
    # Row r of the output is row r - shift of the input: a one-hot matrix
    # per image, and an index outside the image gives a zero row.
    down = ops.one_hot(
        ops.arange(height)[None, :] - rows[:, None], height, dtype=images.dtype
    )
    right = ops.one_hot(
        ops.arange(width)[None, :] - columns[:, None], width, dtype=images.dtype
    )
    images = ops.einsum("bij,bjwc->biwc", down, images)
    return ops.einsum("bkl,bhlc->bhkc", right, images)


def cut_out(images, top, left, size: int):
    """Sets a `size` x `size` square of each image, from (`top[i]`,
    `left[i]`), to 0; the square may reach past the edges."""
    height, width = images.shape[1], images.shape[2]
    ys, xs = ops.arange(height)[None, :], ops.arange(width)[None, :]
    in_rows = ops.logical_and(ys >= top[:, None], ys < top[:, None] + size)
    in_columns = ops.logical_and(xs >= left[:, None], xs < left[:, None] + size)
    inside = ops.logical_and(in_rows[:, :, None], in_columns[:, None, :])
    return images * ops.cast(ops.logical_not(inside), images.dtype)[..., None]


@keras.saving.register_keras_serializable(package="keras_dcgan")
class DiffAugment(keras.layers.Layer):
    """Random, differentiable augmentation of a batch of images in training.

    Args:
        policy: Names from `keras_dcgan.config.AUGMENTATIONS`; they are
            applied in that order, as in the paper's code.
        seed: Seed of the augmentations' randomness (None: random).

    Example:
        >>> layer = DiffAugment(("translation", "cutout"), seed=0)
        >>> x = keras.ops.zeros((2, 28, 28, 1))
        >>> layer(x, training=True).shape
        (2, 28, 28, 1)
    """

    def __init__(self, policy=("translation", "cutout"), seed=None, **kwargs):
        super().__init__(**kwargs)
        unknown = sorted(set(policy) - set(AUGMENTATIONS))
        if unknown:
            raise ValueError(
                f"DiffAugment: no augmentation {', '.join(unknown)}; use "
                f"{', '.join(AUGMENTATIONS)}."
            )
        self.policy = tuple(name for name in AUGMENTATIONS if name in policy)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        for name in self.policy:
            images = getattr(self, f"_{name}")(images)
        return images

    def _uniform(self, images, shape_tail=()):
        shape = (ops.shape(images)[0], *shape_tail)
        return keras.random.uniform(shape, dtype=images.dtype, seed=self.seed_generator)

    def _integers(self, images, low, high):
        shape = (ops.shape(images)[0],)
        return keras.random.randint(shape, low, high, seed=self.seed_generator)

    def _color(self, images):
        """Brightness, saturation and contrast, each by a random amount."""
        images = images + (self._uniform(images, (1, 1, 1)) - 0.5)
        mean = ops.mean(images, axis=-1, keepdims=True)
        images = (images - mean) * (self._uniform(images, (1, 1, 1)) * 2) + mean
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return (images - mean) * (self._uniform(images, (1, 1, 1)) + 0.5) + mean

    def _translation(self, images):
        most = [round(side * TRANSLATION_RATIO) for side in images.shape[1:3]]
        rows = self._integers(images, -most[0], most[0] + 1)
        columns = self._integers(images, -most[1], most[1] + 1)
        return translate(images, rows, columns)

    def _cutout(self, images):
        size = round(images.shape[1] * CUTOUT_RATIO)
        # The square's centre anywhere in the image, as in the paper's code.
        top = self._integers(images, 0, images.shape[1]) - size // 2
        left = self._integers(images, 0, images.shape[2]) - size // 2
        return cut_out(images, top, left, size)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "policy": self.policy, "seed": self.seed}
