"""Feature extractors: uint8 images -> (features, class probabilities).

Two kinds, both built once and then called on batches:

- `InceptionExtractor`: Keras' InceptionV3 (ImageNet weights): the 2,048
  pool features and the 1,000-class softmax, from one forward pass.
- `ClassifierExtractor`: any saved Keras classifier: its penultimate layer
  and its softmax, as TF-GAN's `mnist_frechet_distance`/`mnist_score` did.
  `keras_dcgan.quality.classifier.train_classifier` makes a small one.

A classifier's expected input range is read from a sidecar JSON next to it
(`PATH.keras.json`, key "input_range"); without one, raw pixel values
[0, 255] are assumed, which is what `train-classifier` models take (they
rescale inside).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan.data import resize_images
from keras_dcgan.errors import DataError
from keras_dcgan.reading import read_json_object

logger = logging.getLogger(__name__)

INCEPTION_SIZE = 299
# A sidecar holds a few fields (`train_classifier` writes well under 1 KiB).
MAX_SIDECAR_BYTES = 1 << 16
INCEPTION_POOL = "avg_pool"


class FeatureExtractor:
    """Maps uint8 images [N, H, W, C] to (features [N, d], probs or None).

    Subclasses set `id` (recorded with cached statistics, so a cache made by
    another extractor is refused) and implement `_extract`.
    """

    id: str = "extractor"

    def __call__(self, images) -> tuple:
        """Features (float32 [N, d]) and probabilities ([N, K] or None)."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise DataError(
                f"feature extractor {self.id}: expected uint8 "
                f"images [N, H, W, C]; got {images.dtype} "
                f"{images.shape}. Convert with data.to_uint8."
            )
        features, probabilities = self._extract(images)
        return (
            np.asarray(features, np.float32),
            None if probabilities is None else np.asarray(probabilities, np.float32),
        )

    def _extract(self, images: np.ndarray) -> tuple:
        raise NotImplementedError


class InceptionExtractor(FeatureExtractor):
    """InceptionV3 pool features (2,048) and ImageNet softmax (1,000).

    Images are resized to `image_size` (299 for the real network), gray
    repeated to 3 channels, and scaled by `inception_v3.preprocess_input`.
    These are Keras' ImageNet weights, not the TF-FID graph: scores compare
    among runs scored this way, not with published FID tables.

    Args:
        weights: "imagenet" (downloaded once into ~/.keras/models), a path
            to a weights file, or None for random weights (tests only).
        image_size: Input side; other than 299 only with `weights=None`.

    Raises:
        DataError: The ImageNet weights cannot be downloaded.

    Example:
        >>> extractor = InceptionExtractor()
        >>> features, probabilities = extractor(uint8_images)
    """

    def __init__(
        self, weights: str | None = "imagenet", image_size: int = INCEPTION_SIZE
    ):
        self.image_size = image_size
        name = weights if weights in ("imagenet", None) else os.path.basename(weights)
        size = "" if image_size == INCEPTION_SIZE else f"@{image_size}"
        self.id = f"inception_v3:{name}{size}"
        if weights not in ("imagenet", None) and not os.path.isfile(weights):
            raise DataError(f"spec=inception: weights file {weights} does not exist.")
        try:
            base = keras.applications.InceptionV3(
                include_top=True,
                weights=weights,
                input_shape=(image_size, image_size, 3),
            )
        except Exception as e:  # download failures raise many types
            if weights != "imagenet":
                raise
            raise DataError(
                "spec=inception: cannot load the InceptionV3 ImageNet "
                f"weights ({type(e).__name__}: {e}). Run once where there is "
                "network so Keras caches them in ~/.keras/models, or use "
                "spec=classifier:PATH (see `keras-dcgan "
                "train-classifier`)."
            ) from e
        self._model = keras.Model(
            base.inputs, [base.get_layer(INCEPTION_POOL).output, base.output]
        )

    def _extract(self, images: np.ndarray) -> tuple:
        x = resize_images(tf.convert_to_tensor(images), self.image_size, 3)
        x = keras.applications.inception_v3.preprocess_input(tf.cast(x, tf.float32))
        features, probabilities = self._model(x, training=False)
        return features.numpy(), probabilities.numpy()


class ClassifierExtractor(FeatureExtractor):
    """Penultimate-layer features and softmax of a saved Keras classifier.

    Args:
        path: A `.keras` classifier; loaded with `safe_mode=True`.
        input_range: (low, high) the model expects pixels in; default from
            the sidecar `PATH.json`, else (0, 255).

    Raises:
        DataError: The file is missing or is not a usable classifier.

    Example:
        >>> extractor = ClassifierExtractor("mnist_classifier.keras")
        >>> features, probabilities = extractor(uint8_images)
    """

    def __init__(self, path: str, input_range: Sequence[float] | None = None):
        if not os.path.isfile(path):
            raise DataError(
                f"spec=classifier:{path}: no such file. "
                "Train one with `keras-dcgan train-classifier`."
            )
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises many types on bad files
            raise DataError(
                f"spec=classifier:{path}: cannot load it as a Keras "
                f"model ({type(e).__name__}: {e})."
            ) from e
        self.id = f"classifier:{os.path.basename(path)}"
        self.input_range = tuple(
            input_range or read_sidecar(path).get("input_range", (0, 255))
        )
        shape = model.input_shape
        if len(shape) != 4 or shape[1] is None or shape[3] not in (1, 3):
            raise DataError(
                f"spec=classifier:{path}: input shape "
                f"{shape} is not images [N, H, W, 1 or 3]."
            )
        self.image_size, self.channels = shape[1], shape[3]
        self._model = _with_penultimate(model, path)
        self._softmax = _ends_in_softmax(model)

    def _extract(self, images: np.ndarray) -> tuple:
        x = resize_images(tf.convert_to_tensor(images), self.image_size, self.channels)
        low, high = self.input_range
        x = tf.cast(x, tf.float32) * ((high - low) / 255.0) + low
        features, outputs = self._model(x, training=False)
        features = tf.reshape(features, (tf.shape(features)[0], -1))
        if not self._softmax:  # logits: make them probabilities
            outputs = tf.nn.softmax(outputs)
        return features.numpy(), outputs.numpy()


def sidecar_path(model_path: str) -> str:
    """Where a classifier's metadata lives: `PATH.json` next to `PATH`."""
    return model_path + ".json"


def read_sidecar(model_path: str) -> dict:
    """A classifier's sidecar metadata, or {} (logged) when there is none.

    Raises:
        DataError: The sidecar is there but is not the metadata
            `train_classifier` writes (not a small regular file, not JSON,
            nested too deeply, an `input_range` that is not two finite
            numbers, low < high).
    """
    path = sidecar_path(model_path)
    if not os.path.lexists(path):
        logger.info("No %s; assuming the classifier takes pixels in [0, 255].", path)
        return {}
    try:
        meta = read_json_object(path, MAX_SIDECAR_BYTES, {})
        if "input_range" in meta:
            meta["input_range"] = _input_range(meta["input_range"])
    except (OSError, ValueError) as e:
        raise DataError(
            f"spec=classifier:{model_path}: {path} is not a classifier's "
            f'metadata ({e}). Fix it (e.g. {{"input_range": [0, 255]}}) or '
            "remove it to assume pixels in [0, 255]."
        ) from None
    return meta


def _input_range(value) -> tuple:
    """[low, high]: two finite numbers, low < high."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        )
        or not all(math.isfinite(v) for v in value)
        or not value[0] < value[1]
    ):
        raise ValueError(
            f"input_range {str(value)[:60]} is not [low, high], two finite "
            "numbers with low < high"
        )
    return (float(value[0]), float(value[1]))


def _with_penultimate(model: keras.Model, path: str) -> keras.Model:
    if len(model.layers) < 2:
        raise DataError(
            f"spec=classifier:{path}: the model has no "
            "penultimate layer to take features from."
        )
    if isinstance(model, keras.Sequential):
        # A loaded Sequential's layer outputs are not always wired into a
        # graph in Keras 3; calling the layers on a new Input always is.
        inputs = keras.Input(model.input_shape[1:])
        x, outputs = inputs, []
        for layer in model.layers:
            x = layer(x)
            outputs.append(x)
        return keras.Model(inputs, [outputs[-2], outputs[-1]])
    return keras.Model(model.inputs, [model.layers[-2].output, model.output])


def _ends_in_softmax(model: keras.Model) -> bool:
    activation = getattr(model.layers[-1], "activation", None)
    name = getattr(activation, "__name__", "")
    if name != "softmax" and type(model.layers[-1]).__name__ != "Softmax":
        logger.info(
            "Classifier's last layer is not a softmax; applying one "
            "to its outputs for the classifier score."
        )
        return False
    return True


def make_extractor(spec: str) -> FeatureExtractor:
    """An extractor from a CLI spec: "inception" or "classifier:PATH".

    Example:
        >>> make_extractor("classifier:mnist_classifier.keras")
    """
    if not isinstance(spec, str):
        raise DataError(
            f"spec={str(spec)[:40]!r}: use 'inception' or "
            "'classifier:PATH' (a .keras classifier)."
        )
    if spec == "inception":
        return InceptionExtractor()
    if spec.startswith("classifier:") and len(spec) > len("classifier:"):
        return ClassifierExtractor(spec[len("classifier:") :])
    raise DataError(
        f"spec={spec[:40]!r}: use 'inception' or 'classifier:PATH' (a .keras "
        "classifier)."
    )
