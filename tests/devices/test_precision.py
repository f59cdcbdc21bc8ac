"""`--precision auto`: chosen per kind of device, recorded, kept on resume;
what a bf16 run saves and exports still takes and gives float32."""

import dataclasses
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_dcgan import runs
from keras_dcgan.config import DCGANConfig
from keras_dcgan.devices import precision
from keras_dcgan.devices.precision import Device, choose_precision
from keras_dcgan.errors import ConfigError
from keras_dcgan.generator import export, latent
from keras_dcgan.training import train

AMX = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
AVX2 = frozenset({"avx2", "fma"})


@pytest.mark.parametrize(
    "device, expected",
    [
        (Device(None, AMX, True, "x86_64"), "mixed_bfloat16"),
        (Device(None, AMX, False, "x86_64"), "float32"),
        (Device(None, ZEN4, True, "x86_64"), "float32"),
        (Device(None, AVX2, True, "x86_64"), "float32"),
        (Device(None, frozenset(), False, "aarch64"), "float32"),
        (Device((8, 0), AVX2, True, "x86_64"), "mixed_bfloat16"),
        (Device((9, 0), AVX2, True, "x86_64"), "mixed_bfloat16"),
        (Device((7, 5), AMX, True, "x86_64"), "float32"),
        (Device((6, 0), AVX2, True, "x86_64"), "float32"),
    ],
    ids=[
        "amx",
        "amx-no-onednn",
        "avx512bf16-no-amx",
        "avx2",
        "arm",
        "a100",
        "h100",
        "t4",
        "p100",
    ],
)
def test_auto_resolves_per_kind_of_device(device, expected):
    choice = choose_precision(device)
    assert choice.precision == expected
    assert choice.reason  # the log line says why


def test_this_machine_resolves_to_what_its_cpu_flags_say():
    flags = precision.cpu_flags()
    expected = "mixed_bfloat16" if "amx_bf16" in flags else "float32"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:  # the first GPU decides: bf16 from compute capability 8.0 on
        details = tf.config.experimental.get_device_details(gpus[0])
        capability = details.get("compute_capability") or (0, 0)
        expected = "mixed_bfloat16" if tuple(capability) >= (8, 0) else "float32"
    assert precision.resolve_precision("auto") == expected
    for explicit in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert precision.resolve_precision(explicit) == explicit


def pretend(monkeypatch, flags, onednn=True):
    monkeypatch.setattr(
        precision, "this_device", lambda: Device(None, flags, onednn, "x86_64")
    )


def test_emulated_precisions_are_warned_about(monkeypatch):
    pretend(monkeypatch, AVX2)
    assert "emulated" in precision.describe_precision("mixed_float16").reason
    assert "10x" in precision.describe_precision("mixed_bfloat16").reason
    assert precision.describe_precision("float32").reason == "asked for"
    pretend(monkeypatch, AMX)
    assert precision.describe_precision("mixed_bfloat16").reason == "asked for"


def test_auto_is_recorded_kept_on_resume_and_logged(
    tmp_path, tiny_config, images, monkeypatch, caplog
):
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=2, precision="auto")
    pretend(monkeypatch, AMX)
    with caplog.at_level(logging.INFO, logger="keras_dcgan"):
        train(config, images, run, verbose=0)
    assert json.load(open(os.path.join(run, "config.json")))["precision"] == (
        "mixed_bfloat16"
    )
    assert "Precision: mixed_bfloat16 (auto: CPU with AMX-BF16" in caplog.text
    # The same run on a machine where auto means float32: the run's own.
    pretend(monkeypatch, AVX2)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="keras_dcgan"):
        train(dataclasses.replace(config, steps=3), images, run, resume=True, verbose=0)
    assert runs.load_run_config(run).precision == "mixed_bfloat16"
    assert "kept on resume" in caplog.text
    with pytest.raises(ConfigError, match="precision: run has 'mixed_bfloat16'"):
        train(
            dataclasses.replace(config, steps=4, precision="float32"),
            images,
            run,
            resume=True,
            verbose=0,
        )


def test_cli_resume_keeps_the_runs_precision(tmp_path, npz_file, monkeypatch):
    from helpers import tiny_flags, train_cli

    run = str(tmp_path / "run")
    pretend(monkeypatch, AMX)
    assert train_cli(npz_file, run, *tiny_flags(), "--steps", "1") == 0
    pretend(monkeypatch, AVX2)
    assert train_cli(npz_file, run, *tiny_flags(), "--steps", "2", "--resume") == 0
    assert runs.load_run_config(run).precision == "mixed_bfloat16"


@pytest.fixture(scope="module")
def bf16_run(tmp_path_factory):
    from helpers import TINY, make_images

    from keras_dcgan.data import from_array

    path = str(tmp_path_factory.mktemp("bf16") / "run")
    train(
        DCGANConfig(**TINY, steps=2, seed=0, precision="mixed_bfloat16"),
        from_array(make_images(64), 28, 1),
        path,
        verbose=0,
    )
    return path


def test_a_bf16_runs_generator_takes_and_gives_float32(bf16_run):
    generator = runs.load_generator(bf16_run)
    z = latent.sample_latents(3, 8, seed=0)
    images = generator(z, training=False)
    assert generator.inputs[0].dtype == "float32"
    assert images.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0


def test_a_bf16_runs_generator_loads_in_a_float32_process(bf16_run):
    # A fresh process under the default float32 policy, as on a machine
    # without bf16 instructions.
    code = (
        "import sys, numpy as np, keras_dcgan, keras\n"
        "m = keras.saving.load_model(sys.argv[1], compile=False, safe_mode=True)\n"
        "assert keras.config.dtype_policy().name == 'float32'\n"
        "y = m(np.zeros((2, 8), 'float32'), training=False)\n"
        "assert y.dtype.name == 'float32', y.dtype\n"
        "print('ok', y.shape)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, os.path.join(bf16_run, "generator.keras")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "ok (2, 28, 28, 1)" in out.stdout, out.stderr


def test_a_bf16_runs_export_has_float32_signatures(bf16_run, tmp_path):
    generator = runs.load_generator(bf16_run)
    path = export.export_saved_model(generator, str(tmp_path / "serving"))
    loaded = tf.saved_model.load(path)
    for name, signature in loaded.signatures.items():
        for spec in signature.structured_input_signature[1].values():
            assert spec.dtype in (tf.float32, tf.int32, tf.int64), (name, spec)
        for key, value in signature.structured_outputs.items():
            assert value.dtype in (tf.float32, tf.uint8, tf.string), (name, key)
    z = latent.sample_latents(2, 8, seed=0)
    images = loaded.signatures["serving_default"](
        **{
            next(
                iter(loaded.signatures["serving_default"].structured_input_signature[1])
            ): z
        }
    )
    assert all(v.dtype != tf.bfloat16 for v in images.values())


def test_a_bf16_run_resumes_exactly(tmp_path, tiny_config, images, op_determinism):
    config = dataclasses.replace(
        tiny_config, steps=5, checkpoint_every=1, precision="mixed_bfloat16"
    )
    train(config, images, str(tmp_path / "straight"), verbose=0)
    train(
        dataclasses.replace(config, steps=2), images, str(tmp_path / "split"), verbose=0
    )
    train(config, images, str(tmp_path / "split"), resume=True, verbose=0)
    straight = runs.load_generator(str(tmp_path / "straight")).weights
    split = runs.load_generator(str(tmp_path / "split")).weights
    for a, b in zip(straight, split):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
