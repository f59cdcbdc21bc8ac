"""A small domain classifier, so MNIST-like data gets metrics with no download.

`train_classifier` fits a two-block CNN on labelled images; the saved model
takes raw pixel values [0, 255] (it rescales inside), its penultimate layer
(128 units) gives the features for FID/KID/precision-recall and its softmax
the classifier score, through `features.ClassifierExtractor`. A sidecar
`PATH.json` records the input range, shape, classes and validation accuracy.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan import bounds
from keras_dcgan import data as data_lib
from keras_dcgan.atomic import write_text
from keras_dcgan.data import tfds_source
from keras_dcgan.data.arrays import array_names
from keras_dcgan.data.preprocess import available_memory_bytes, format_bytes
from keras_dcgan.errors import DataError
from keras_dcgan.quality.features import MAX_SIDECAR_BYTES, sidecar_path
from keras_dcgan.reading import read_json_object
from keras_dcgan.runs import save_model

logger = logging.getLogger(__name__)

LABEL_KEYS = ("y", "y_train", "labels", "label")


def load_labelled(
    image_size: int | None = None,
    channels: int | None = None,
    *,
    data: str | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
) -> tuple:
    """Images and integer labels from a `.npz` (`x` + `y`) or a TFDS dataset.

    Args:
        image_size: Output side (default: `data.suggest_shape`).
        channels: Output channels (default: `data.suggest_shape`).
        data: A `.npz` with images (x, x_train, images) and labels (y,
            y_train, labels).
        dataset: A TFDS name with a "label" feature (mnist, cifar10, ...).
        data_dir: TFDS data directory.

    Returns:
        (uint8 images [N, size, size, channels], int64 labels [N]).

    Example:
        >>> x, y = load_labelled(data="mnist_test_10k.npz")
    """
    if bool(data) == bool(dataset):
        raise DataError("train-classifier: give exactly one of data= or dataset=.")
    size, chans = data_lib.suggest_shape(dataset=dataset, data=data)
    image_size, channels = image_size or size, channels or chans
    if data:
        x, y = _npz_labelled(data)
        images = data_lib.from_array(x, image_size, channels, description=data)
        x = np.concatenate(list(images.dataset.batch(4096).as_numpy_iterator()))
    else:
        x, y = _tfds_labelled(dataset, image_size, channels, data_dir)
    return x, _check_labels(y, len(x), data or dataset)


def _npz_labelled(path: str) -> tuple:
    if not path.endswith(".npz") or not os.path.isfile(path):
        raise DataError(
            f"data={path}: train-classifier needs a .npz file "
            "with images (x) and labels (y)."
        )
    x = data_lib.load_array(path)
    names = array_names(path)
    key = next((k for k in LABEL_KEYS if k in names), None)
    if key is None:
        raise DataError(
            f"data={path}: no labels; store them as 'y' "
            f"(arrays present: {', '.join(names)})."
        )
    return x, data_lib.load_array(path, name=key)


def _tfds_labelled(name, image_size, channels, data_dir) -> tuple:
    builder = tfds_source.open_builder(name, data_dir)
    if "label" not in builder.info.features:
        raise DataError(
            f"dataset={name}: has no 'label' feature; use a "
            "labelled dataset or data=FILE.npz with y."
        )
    ds = tfds_source.train_split(builder, name)
    key = tfds_source.image_feature(builder.info.features, name)
    ds = ds.map(
        lambda ex: (data_lib.resize_images(ex[key], image_size, channels), ex["label"]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    xs, ys = zip(*ds.batch(4096).as_numpy_iterator())
    return np.concatenate(xs), np.concatenate(ys)


def _check_labels(y, count: int, source: str) -> np.ndarray:
    try:
        y = np.asarray(y).reshape(-1)
    except (TypeError, ValueError):  # ragged nested lists
        y = np.zeros(0, np.float32)
    if (
        len(y) != count
        or not np.issubdtype(y.dtype, np.integer)
        or y.min() < 0
        or y.max() >= bounds.MAX_CLASSES
    ):
        raise DataError(
            f"{source}: labels must be {count} integers from 0 to "
            f"{bounds.MAX_CLASSES - 1}, one per image (floats and bools are "
            f"not class labels); got {y.dtype} {y.shape}."
        )
    if len(np.unique(y)) < 2:
        raise DataError(
            f"{source}: labels hold one class only; a classifier needs at least two."
        )
    return y.astype(np.int64)


def build_classifier(image_size: int, channels: int, num_classes: int) -> keras.Model:
    """Two conv blocks, a 128-unit feature layer, a softmax.

    Takes pixels in [0, 255]; the Rescaling layer maps them to [-1, 1].
    """
    inputs = keras.Input((image_size, image_size, channels), name="pixels")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="probabilities"
    )(x)
    return keras.Model(inputs, outputs, name="domain_classifier")


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    output: str | None = None,
    epochs: int = 5,
    batch_size: int = 128,
    validation_split: float = 0.1,
    seed: int = 0,
    verbose: int = 0,
    source: str = "array",
) -> tuple:
    """Trains the domain classifier and saves it (atomically) with a sidecar.

    Args:
        images: uint8 [N, H, W, C] or [N, H, W] (square, 8 to
            `bounds.MAX_CLASSIFIER_SIDE` px, C 1 or 3).
        labels: Integer class labels [N]: at least two classes, each from
            0 to `bounds.MAX_CLASSES` - 1.
        output: `.keras` path to save to (None: not saved).
        epochs: Passes over the training part, 1 to
            `bounds.MAX_CLASSIFIER_EPOCHS`.
        batch_size: Images per step, 1 to `DCGANConfig`'s batch limit.
        validation_split: Share held out (after a seeded shuffle), 0 to
            0.9; at least one image is left to train on.
        seed: Seed of weights and of the split, 0 to `bounds.MAX_SEED`.
        verbose: Keras fit verbosity: 0, 1 or 2.
        source: Name of the images, for the sidecar.

    Returns:
        (model, validation accuracy or None when nothing is held out).

    Raises:
        DataError: An argument of the wrong kind or out of range: images
            that are not such an array or would not fit in memory as
            floats, labels that are not integers (floats refused, not
            rounded) or hold one class only, nothing left to train on.

    Example:
        >>> x, y = load_labelled(data="mnist_test_10k.npz")
        >>> model, accuracy = train_classifier(x, y, "mnist_clf.keras")
    """
    if output is not None:
        output = bounds.check_path(output, "output", DataError)
        if not output.endswith(".keras"):
            raise DataError(f"output={output}: name a .keras file.")
    epochs = bounds.check_int(
        epochs, 1, bounds.MAX_CLASSIFIER_EPOCHS, "epochs", DataError
    )
    seed = bounds.check_int(seed, 0, bounds.MAX_SEED, "seed", DataError)
    batch_size = bounds.check_int(
        batch_size, 1, bounds.LIMITS["batch_size"], "batch_size", DataError
    )
    validation_split = bounds.check_float(
        validation_split, 0.0, 0.9, "validation_split", DataError
    )
    verbose = bounds.check_int(verbose, 0, 2, "verbose", DataError)
    if not isinstance(source, str):
        raise DataError("source: give the images' name as a str.")
    images = _check_images(images)
    labels = _check_labels(labels, len(images), source)
    if len(images) - int(round(len(images) * validation_split)) < 1:
        raise DataError(
            f"validation_split={validation_split} of {len(images)} images "
            "leaves none to train on; lower it or give more images."
        )
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(images))
    x, y = images[order].astype(np.float32), labels[order]
    held = int(round(len(x) * validation_split))
    model = build_classifier(x.shape[1], x.shape[3], int(y.max()) + 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    validation = (x[len(x) - held :], y[len(x) - held :]) if held else None
    history = model.fit(
        x[: len(x) - held],
        y[: len(x) - held],
        validation_data=validation,
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
    )
    accuracy = float(history.history["val_accuracy"][-1]) if held else None
    logger.info(
        "Classifier: %d classes, validation accuracy %s.",
        int(y.max()) + 1,
        "n/a" if accuracy is None else f"{accuracy:.4f}",
    )
    if output:
        save_model(model, output)
        _write_json(
            sidecar_path(output),
            {
                "input_range": [0, 255],
                "image_size": int(x.shape[1]),
                "channels": int(x.shape[3]),
                "classes": int(y.max()) + 1,
                "val_accuracy": accuracy,
                "epochs": epochs,
                "source": source,
            },
        )
    return model, accuracy


def is_classifier(path: str) -> bool:
    """Whether `path` is a classifier `train_classifier` saved: a regular
    file beside its sidecar metadata (only such a file
    `keras-dcgan train-classifier --output` replaces)."""
    try:
        read_json_object(
            sidecar_path(path), MAX_SIDECAR_BYTES, {"classes": int, "input_range": list}
        )
    except (OSError, ValueError):
        return False
    return os.path.isfile(path) and not os.path.islink(path)


def _check_images(images) -> np.ndarray:
    """uint8 images [N, H, W, C] (a channel axis added to [N, H, W])."""
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim not in (3, 4)
        or (images.ndim == 4 and images.shape[-1] not in (1, 3))
        or not len(images)
        or images.shape[1] != images.shape[2]
        or not 8 <= images.shape[1] <= bounds.MAX_CLASSIFIER_SIDE
    ):
        raise DataError(
            "images: give a uint8 NumPy array [N, H, W, C] of square images "
            f"(8 to {bounds.MAX_CLASSIFIER_SIDE} px, C 1 or 3); got "
            f"{getattr(images, 'dtype', type(images).__name__)} "
            f"{getattr(images, 'shape', '')}."
        )
    needed, available = images.size * 4, available_memory_bytes()
    if needed > available:  # fit takes them as float32
        raise DataError(
            f"images: {len(images)} images need {format_bytes(needed)} as "
            f"floats, more than the {format_bytes(available)} available; "
            "give fewer."
        )
    return images if images.ndim == 4 else images[..., None]


def _write_json(path: str, content: dict) -> None:
    write_text(path, json.dumps(content, indent=2))
