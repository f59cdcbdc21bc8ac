"""Serving an exported SavedModel in another Python process, and checking it.

The script runs in a fresh interpreter that imports TensorFlow only, as TF
Serving sees the model: no keras_dcgan, no Keras objects. Which interpreter
is the caller's choice: the project's own (tests/generator/test_export.py)
or one with the TensorFlow of the newest TF Serving release
(tests/generator/test_serving_compat.py).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import textwrap

import numpy as np
import pytest
from PIL import Image

from keras_dcgan.generator import export, latent

# The largest batch of the exports checked here, small so the guards trip.
MAX_BATCH = 8
GENERATE_SEEDS = (42, 42, 7)
GENERATE_NUM = 3

SERVE_SCRIPT = textwrap.dedent("""
    import base64, json, os, sys
    import numpy as np
    import tensorflow as tf

    model_dir, work, num, over = sys.argv[1:5]
    num, over, seeds = int(num), int(over), json.loads(sys.argv[5])
    model = tf.saved_model.load(model_dir)
    out = {"tensorflow": tf.__version__, "signatures": sorted(model.signatures)}
    # The warm-up requests TF Serving replays on load: read as TFRecords,
    # and replayed where TF Serving's protos are installed.
    warmup = os.path.join(model_dir, "assets.extra", "tf_serving_warmup_requests")
    records = [r.numpy() for r in tf.data.TFRecordDataset(warmup)]
    out["warmup"] = {"records": len(records), "replayed": None}
    try:
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError:
        prediction_log_pb2 = None
    if prediction_log_pb2 is not None:
        out["warmup"]["replayed"] = []
        for record in records:
            log = prediction_log_pb2.PredictionLog.FromString(record)
            request = log.predict_log.request
            name = request.model_spec.signature_name
            inputs = {k: tf.constant(tf.make_ndarray(v))
                      for k, v in request.inputs.items()}
            images = model.signatures[name](**inputs)["images"]
            out["warmup"]["replayed"].append([name, list(images.shape)])
    serve = model.signatures["serving_default"]
    gen = model.signatures["generate"]
    z = np.load(work + "/z.npy")
    result = serve(z=tf.constant(z))
    generated = [gen(num_images=tf.constant(num, tf.int32),
                     seed=tf.constant(s, tf.int64)) for s in seeds]
    np.savez(work + "/served.npz", images=result["images"].numpy(),
             images_float=result["images_float"].numpy(),
             generated=np.stack([g["images"].numpy() for g in generated]))
    out["png"] = {
        name: [base64.b64encode(b).decode() for b in r["images_bytes"].numpy()]
        for name, r in (("serving_default", result), ("generate", generated[0]))}
    errors = {}
    for name, call in [
            ("too_big", lambda: serve(z=tf.zeros([over, z.shape[1]]))),
            ("nan", lambda: serve(z=tf.constant(np.full_like(z, np.nan)))),
            ("inf", lambda: serve(z=tf.constant(np.full_like(z, np.inf)))),
            ("too_many", lambda: gen(num_images=tf.constant(over),
                                     seed=tf.constant(1, tf.int64)))]:
        try:
            call()
            errors[name] = None
        except tf.errors.InvalidArgumentError as e:
            errors[name] = e.message
    out["errors"] = errors
    out["keras_dcgan_imported"] = any(m.startswith("keras_dcgan")
                                      for m in sys.modules)
    print(json.dumps(out))
""")


def serve_in(
    python: str, model_dir: str, z: np.ndarray, work: str, env: dict | None = None
) -> tuple[dict, dict]:
    """Runs SERVE_SCRIPT with `python` on an export of `max_batch` MAX_BATCH.

    Args:
        python: The interpreter, with TensorFlow installed.
        model_dir: The version folder written by `export_saved_model`.
        z: float32 latents [N, nz] for `serving_default`.
        work: An empty folder for the exchanged files.
        env: The environment of the process (default: this one's).

    Returns:
        The script's JSON summary and its arrays (`images`, `images_float`,
        `generated`: the `generate` images of each of GENERATE_SEEDS).
    """
    np.save(os.path.join(work, "z.npy"), z)
    env = dict(os.environ if env is None else env, TF_CPP_MIN_LOG_LEVEL="3")
    args = [
        model_dir,
        work,
        str(GENERATE_NUM),
        str(MAX_BATCH + 1),
        json.dumps(GENERATE_SEEDS),
    ]
    result = subprocess.run(
        [python, "-c", SERVE_SCRIPT, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if result.returncode:
        pytest.fail(
            f"{python} could not serve {model_dir} (exit "
            f"{result.returncode}):\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    with np.load(os.path.join(work, "served.npz")) as f:
        return out, dict(f)


def decode_pngs(encoded: list[str]) -> np.ndarray:
    """base64 PNG files (as TF Serving's REST API sends them) -> uint8
    [N, H, W, C], decoded by Pillow rather than TensorFlow."""
    images = np.stack(
        [np.asarray(Image.open(io.BytesIO(base64.b64decode(b)))) for b in encoded]
    )
    return images[..., None] if images.ndim == 3 else images  # grey: no C


def check_served(
    generator, z: np.ndarray, out: dict, arrays: dict, float_atol: float
) -> None:
    """Asserts that what `serve_in` returned is what `generator` gives here.

    The uint8 images (both signatures) and the PNG files must be equal byte
    for byte, `images_float` within `float_atol`; the guards must trip.
    """
    assert out["signatures"] == ["generate", "serving_default"]
    assert not out["keras_dcgan_imported"]
    images = arrays["images"]
    assert images.dtype == np.uint8 and images.shape == (len(z), 28, 28, 1)
    np.testing.assert_array_equal(images, latent.generate(generator, z))
    np.testing.assert_allclose(
        arrays["images_float"], generator(z, training=False), rtol=0, atol=float_atol
    )
    np.testing.assert_array_equal(decode_pngs(out["png"]["serving_default"]), images)

    same, again, other = arrays["generated"]
    np.testing.assert_array_equal(same, again)
    assert not np.array_equal(same, other)
    seeded = export.seeded_latents(GENERATE_NUM, z.shape[1], 42).numpy()
    np.testing.assert_array_equal(same, latent.generate(generator, seeded))
    np.testing.assert_array_equal(decode_pngs(out["png"]["generate"]), same)

    # Warm-up: a batch of 1 and of MAX_BATCH for each signature.
    assert out["warmup"]["records"] == 4
    if out["warmup"]["replayed"] is not None:
        replayed = sorted((name, shape[0]) for name, shape in out["warmup"]["replayed"])
        assert replayed == [
            ("generate", 1),
            ("generate", MAX_BATCH),
            ("serving_default", 1),
            ("serving_default", MAX_BATCH),
        ]

    errors = out["errors"]
    assert f"max_batch of this export ({MAX_BATCH})" in errors["too_big"]
    assert "NaN or infinite" in errors["nan"] and errors["inf"]
    assert f"max_batch of this export ({MAX_BATCH})" in errors["too_many"]
