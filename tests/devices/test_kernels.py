"""The kernel choice: XLA or not, oneDNN or not, as measured."""

import logging
import os
import platform
import subprocess
import sys

import pytest
import tensorflow as tf

from keras_dcgan.devices import kernels


def test_xla_default_follows_the_measurements(monkeypatch):
    assert kernels.resolve_jit_compile(True) is True
    assert kernels.resolve_jit_compile(False) is False
    monkeypatch.setattr(kernels.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(kernels, "_op_determinism_enabled", lambda: False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
    monkeypatch.setattr(kernels, "onednn_enabled", lambda: True)
    for avx512 in (False, True):  # oneDNN's kernels beat XLA's on both
        monkeypatch.setattr(kernels, "_has_avx512", lambda avx512=avx512: avx512)
        assert kernels.resolve_jit_compile() is False
    monkeypatch.setattr(kernels, "onednn_enabled", lambda: False)
    monkeypatch.setattr(kernels, "_has_avx512", lambda: False)
    assert kernels.resolve_jit_compile() is True  # beat plain kernels here
    monkeypatch.setattr(kernels, "_has_avx512", lambda: True)
    assert kernels.resolve_jit_compile() is False  # measured slower there
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: ["gpu"])
    assert kernels.resolve_jit_compile() is True


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64"),
    reason="oneDNN is turned on on x86 only",
)
@pytest.mark.parametrize("setting, expected", [(None, True), ("0", False)])
def test_import_turns_onednn_on_unless_the_user_said_no(setting, expected):
    # TensorFlow reads the switch once, at its import: a fresh process.
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = (
        "import keras_dcgan\n"
        "from keras_dcgan.devices.kernels import onednn_enabled, "
        "resolve_jit_compile\n"
        "print(onednn_enabled(), resolve_jit_compile())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=True,
    )
    onednn, xla = out.stdout.split()[-2:]
    assert onednn == str(expected)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert xla == str(gpu or (not expected and not kernels._has_avx512()))


def test_a_late_import_is_told_how_to_get_onednn(monkeypatch, caplog):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(kernels.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
    monkeypatch.setattr(kernels, "onednn_enabled", lambda: False)
    with caplog.at_level(logging.INFO, logger="keras_dcgan.devices.kernels"):
        kernels.hint_onednn()
    assert "TF_ENABLE_ONEDNN_OPTS=1" in caplog.text
    caplog.clear()
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # the user's choice
    with caplog.at_level(logging.INFO, logger="keras_dcgan.devices.kernels"):
        kernels.hint_onednn()
    assert caplog.text == ""
