"""Exporting a trained generator: a TF Serving SavedModel and a TFLite file.

The SavedModel is written as `BASE/VERSION/` (integer versions), the layout
TF Serving watches, with warm-up requests for both signatures in
`assets.extra/tf_serving_warmup_requests` and two signatures:

    serving_default   z float32 [batch, nz] -> images uint8 [batch, H, W, C]
                                               images_float float32 in [-1, 1]
                                               images_bytes string [batch], PNG
    generate          num_images int32 [], seed int64 []
                                            -> images uint8 [num_images, ...]
                                               images_bytes string, PNG

TF Serving's REST API returns an output whose name ends in `_bytes` as
`{"b64": ...}`: one PNG file per image, far smaller than JSON numbers.

Both reject, inside the graph, batches larger than `max_batch` and (for
`serving_default`) NaN or infinite latents with an `InvalidArgumentError`,
so a bad request fails cleanly instead of exhausting the server's memory.
The SavedModel needs neither keras_dcgan nor Keras to be loaded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan import bounds
from keras_dcgan.atomic import atomic_dir, atomic_write
from keras_dcgan.errors import RunError, RunWriteError
from keras_dcgan.generator.latent import generator_shapes

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 1024
# The second half of the stateless seed; fixed so one int64 names the draw.
SEED_SALT = 0


def uint8_images(images: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255], in-graph twin of `data.to_uint8`.

    `tf.round` rounds half to even like `np.round`, so both give the same
    bytes.
    """
    scaled = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


def seeded_latents(num_images, latent_dim: int, seed) -> tf.Tensor:
    """The latents the `generate` signature draws for (num_images, seed).

    Args:
        num_images: How many vectors (int or int32 scalar tensor).
        latent_dim: Their size.
        seed: int or int64 scalar tensor.

    Returns:
        float32 tensor [num_images, latent_dim], standard normal, the same
        for the same arguments on any machine (stateless Philox RNG).

    Example:
        >>> seeded_latents(2, 100, 7).shape
        TensorShape([2, 100])
    """
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(SEED_SALT, tf.int64)])
    shape = tf.stack([tf.cast(num_images, tf.int32), latent_dim])
    return tf.random.stateless_normal(shape, seed=seed, dtype=tf.float32)


def png_bytes(images: tf.Tensor) -> tf.Tensor:
    """uint8 images [N, H, W, C] -> string [N], one PNG file each."""
    return tf.map_fn(
        tf.io.encode_png, images, fn_output_signature=tf.TensorSpec([], tf.string)
    )


def _check_batch(size, max_batch: int, what: str):
    """Graph assertions on a batch size; they raise InvalidArgumentError."""
    return [
        tf.debugging.assert_less_equal(
            size,
            tf.constant(max_batch, size.dtype),
            message=f"{what} is larger than the max_batch of this export "
            f"({max_batch}); split the request.",
        ),
        tf.debugging.assert_greater_equal(
            size, tf.constant(1, size.dtype), message=f"{what} must be at least 1."
        ),
    ]


def build_archive(
    generator: keras.Model, max_batch: int = DEFAULT_MAX_BATCH
) -> keras.export.ExportArchive:
    """An `ExportArchive` holding the generator and both signatures.

    Args:
        generator: A DCGAN generator (input [None, nz], output in [-1, 1]).
        max_batch: Largest batch a request may ask for, 1 to 2**31 - 1 (the
            signatures compare it with int32 batch sizes).

    Returns:
        The archive, ready for `write_out`.

    Raises:
        RunError: `max_batch` out of range.
    """
    _check_max_batch(max_batch)
    generator_shapes(generator)
    latent_dim = int(generator.input_shape[-1])
    # No archive.track(generator): endpoints track the variables they use,
    # and tracking the model too stores every weight twice (2x the size).
    archive = keras.export.ExportArchive()

    def serve(z):
        checks = _check_batch(tf.shape(z)[0], max_batch, "the batch of z")
        with tf.control_dependencies(checks):
            z = tf.debugging.check_numerics(
                z, "z holds NaN or infinite values; send finite floats"
            )
        images = generator(z, training=False)
        pixels = uint8_images(images)
        return {
            "images": pixels,
            "images_float": images,
            "images_bytes": png_bytes(pixels),
        }

    def generate(num_images, seed):
        with tf.control_dependencies(_check_batch(num_images, max_batch, "num_images")):
            z = seeded_latents(num_images, latent_dim, seed)
        pixels = uint8_images(generator(z, training=False))
        return {"images": pixels, "images_bytes": png_bytes(pixels)}

    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
    )
    archive.add_endpoint(
        name="generate",
        fn=generate,
        input_signature=[
            tf.TensorSpec([], tf.int32, name="num_images"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ],
    )
    return archive


def _latent_size(generator: keras.Model) -> int:
    """The latent size of a generator [None, nz] -> images."""
    return int(generator_shapes(generator)[0][-1])


def warmup_requests(nz: int, max_batch: int = DEFAULT_MAX_BATCH) -> list:
    """The requests TF Serving replays before it serves a version: a batch
    of 1 and one of up to 8 for each signature, so that the first real
    request does not pay for loading the graph and its kernels.

    Args:
        nz: The generator's latent size.
        max_batch: The export's largest batch; no request is larger.

    Returns:
        `tensorflow_serving.apis.prediction_log_pb2.PredictionLog`s.
    """
    from tensorflow_serving.apis import (
        model_pb2,
        predict_pb2,
        prediction_log_pb2,
    )

    logs = []
    for batch in sorted({1, min(8, max_batch)}):
        inputs = {
            "serving_default": {"z": np.zeros((batch, nz), np.float32)},
            "generate": {
                "num_images": np.array(batch, np.int32),
                "seed": np.array(0, np.int64),
            },
        }
        for signature, tensors in inputs.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(signature_name=signature)
            )
            for name, value in tensors.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            logs.append(
                prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
            )
    return logs


def write_warmup_requests(
    model_dir: str, nz: int, max_batch: int = DEFAULT_MAX_BATCH
) -> str:
    """Writes `MODEL_DIR/assets.extra/tf_serving_warmup_requests`, the
    TFRecord file of `warmup_requests` TF Serving reads when it loads the
    version (SavedModel warm-up).

    Returns:
        The file's path.
    """
    folder = os.path.join(model_dir, "assets.extra")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tf_serving_warmup_requests")
    with tf.io.TFRecordWriter(path) as writer:
        for log in warmup_requests(nz, max_batch):
            writer.write(log.SerializeToString())
    return path


def _check_max_batch(max_batch) -> int:
    # Above int32's range the constant would wrap and refuse every request.
    return bounds.check_int(max_batch, 1, bounds.MAX_INT32, "max_batch", RunError)


def next_version(base_dir: str) -> int:
    """1 + the largest integer-named folder in `base_dir` (1 if none)."""
    if not os.path.isdir(base_dir):
        return 1
    versions = [
        int(name)
        for name in os.listdir(base_dir)
        if re.fullmatch(r"\d+", name) and os.path.isdir(os.path.join(base_dir, name))
    ]
    return max(versions, default=0) + 1


def export_saved_model(
    generator: keras.Model,
    base_dir: str,
    version: int | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> str:
    """Writes the generator as a TF Serving SavedModel `base_dir/version`.

    The model is written to a temporary folder inside `base_dir` (a name TF
    Serving ignores) and renamed into place, so a server never sees half an
    export; the version folder gets the mode of any new folder of the user,
    so a server running as another user can read it. Existing versions are
    never touched.

    Args:
        generator: A DCGAN generator.
        base_dir: The model's base path (TF Serving's `--model_base_path`).
        version: Positive integer; None for the next one after those there.
        max_batch: Largest batch a request may ask for, 1 to 2**31 - 1.

    Returns:
        The path of the written version folder.

    Raises:
        RunError: The version exists already, or the arguments are invalid.

    Example:
        >>> export_saved_model(runs.load_generator("runs/mnist"), "serving")
        'serving/1'
    """
    generator_shapes(generator)
    base_dir = bounds.check_path(base_dir, "base_dir", RunError)
    if version is not None:
        try:
            version = bounds.check_int(version, 1, bounds.MAX_VERSION)
        except ValueError:
            raise RunError(
                f"version={str(version)[:40]!r}: use a positive integer up to "
                f"{bounds.MAX_VERSION}; TF Serving only loads int64 "
                "version folders."
            ) from None
    max_batch = _check_max_batch(max_batch)
    if os.path.exists(base_dir) and not os.path.isdir(base_dir):
        raise RunError(f"base_dir={base_dir} is a file; name a folder.")
    version = next_version(base_dir) if version is None else version
    target = os.path.join(base_dir, str(version))
    if os.path.exists(target):
        raise RunError(
            f"{target} exists already; exports are never overwritten. Pass "
            "another version=, or leave it out to use the next one."
        )
    created = _make_folder(base_dir)
    try:
        with atomic_dir(target) as tmp:
            build_archive(generator, max_batch).write_out(tmp, verbose=False)
            write_warmup_requests(tmp, _latent_size(generator), max_batch)
    except FileExistsError:  # another export won the race
        raise RunError(
            f"{target} appeared while exporting; not replaced. Export again."
        ) from None
    except BaseException as e:  # a signal too: no folder made is left
        _remove_if_empty(created)
        if isinstance(e, (tf.errors.OpError, OSError)):  # a full disk
            raise _write_error(target, e) from e
        raise
    logger.info(
        "Exported the generator to %s (signatures serving_default, "
        "generate; max batch %d).",
        target,
        max_batch,
    )
    return target


def export_tflite(generator: keras.Model, path: str) -> str:
    """Writes the generator as a TFLite model, atomically.

    Its one input is `z` float32 [batch, nz] and its output the generator's
    float images in [-1, 1] (BatchNorm in inference mode), as the Keras
    model gives them.

    Args:
        generator: A DCGAN generator.
        path: The `.tflite` file to write.

    Returns:
        `path`.

    Example:
        >>> export_tflite(generator, "generator.tflite")
        'generator.tflite'
    """
    generator_shapes(generator)
    path = bounds.check_path(path, "path", RunError)
    latent_dim = int(generator.input_shape[-1])
    # Through an ExportArchive SavedModel: converting a concrete function
    # that closes over Keras 3 variables leaves them as uninitialised
    # resource variables in the flatbuffer (the outputs come out NaN).
    archive = keras.export.ExportArchive()
    archive.add_endpoint(
        name="serving_default",
        fn=lambda z: {"images_float": generator(z, training=False)},
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
    )
    created = _make_folder(os.path.dirname(os.path.abspath(path)))
    try:
        # The intermediate SavedModel goes beside the target, never into
        # the system's temporary folder, and is removed on any error (and
        # on SIGTERM in the CLI, which raises there).
        with tempfile.TemporaryDirectory(
            prefix=f".tmp-{os.path.basename(path)}.",
            dir=os.path.dirname(os.path.abspath(path)),
        ) as saved_model:
            archive.write_out(saved_model, verbose=False)
            flatbuffer = tf.lite.TFLiteConverter.from_saved_model(saved_model).convert()
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            f.write(flatbuffer)
    except BaseException as e:  # a signal too: no folder made is left
        _remove_if_empty(created)
        if isinstance(e, (tf.errors.OpError, OSError)):  # a full disk
            raise _write_error(path, e) from e
        raise
    logger.info("Wrote %s (%d bytes).", path, len(flatbuffer))
    return path


def _make_folder(folder: str) -> str | None:
    """Makes `folder` (and parents); returns it if it was made here."""
    if os.path.isdir(folder):
        return None
    os.makedirs(folder)
    return folder


def _remove_if_empty(folder: str | None) -> None:
    """A failed export leaves no folder it made (if still empty)."""
    if folder is not None:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _write_error(target: str, error: Exception) -> RunWriteError:
    """One line for an export that could not be written."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    return RunWriteError(
        f"Cannot write the export {target} ({reason}); nothing half-written "
        "is left. Free disk space or fix permissions, then export again."
    )


def run_tflite(path: str, z) -> np.ndarray:
    """Runs a TFLite file written by `export_tflite` on latents `z`.

    Args:
        path: The `.tflite` file.
        z: float array [N, nz].

    Returns:
        float32 images [N, H, W, C] in [-1, 1].
    """
    import warnings

    # TF warns that tf.lite.Interpreter moves to the ai_edge_litert package;
    # it still works in TF 2.21 and that package is not a dependency.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=path)
    runner = interpreter.get_signature_runner()
    return runner(z=np.asarray(z, np.float32))["images_float"]
