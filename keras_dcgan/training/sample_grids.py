"""Sample grids during training, as a Keras callback."""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_dcgan import visualize


class SampleGrids(keras.callbacks.Callback):
    """After each epoch, a grid of G's images for one fixed noise batch.

    keras-io's `GANMonitor`, for the combined model: the generator is
    `model.layers[0]` unless another is given, run in inference mode.

    Args:
        noise: Latents [n, latent_dim], the same every epoch.
        folder: Where `epoch_XXXX.png` grids go.
        summarize: Called with (name, uint8 images [1, H, W, C]) to also
            show each grid elsewhere: `History.summarize_images`, which puts
            it at the global step of the epoch's last row, beside the
            curves of TensorBoard's Scalars tab.
        generator: The generator to sample (default: the combined
            model's first layer); the generator average when there is one.
    """

    def __init__(self, noise, folder: str, summarize=None, generator=None):
        super().__init__()
        self.noise, self.folder, self.summarize = noise, folder, summarize
        self.generator = generator

    def on_epoch_end(self, epoch, logs=None):
        generator = self.generator or self.model.layers[0]
        images = generator(self.noise, training=False)
        grid = visualize.image_grid(np.asarray(images))
        path = os.path.join(self.folder, f"epoch_{epoch + 1:04d}.png")
        visualize.save_png(grid, path)
        if self.summarize is not None:
            self.summarize("samples", grid[None])
