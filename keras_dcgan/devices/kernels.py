"""Which kernels run the training step: XLA's, oneDNN's or TensorFlow's own.

Chosen by measurement (benchmarks/train_throughput.py, docs/BENCHMARKS.md).
On a CPU the choice is worth up to 1.8x: oneDNN's kernels, which
`import keras_dcgan` turns on for x86 before TensorFlow is imported,
beat both XLA's and TensorFlow's default (Eigen) ones there; on a GPU, XLA.
"""

from __future__ import annotations

import logging
import os
import platform

import tensorflow as tf

logger = logging.getLogger(__name__)


def resolve_jit_compile(jit_compile=None) -> bool:
    """Whether the train functions use XLA: `jit_compile` if given, else
    where it measured faster (benchmarks/train_throughput.py).

    On GPUs, XLA. On CPUs, no XLA when TensorFlow runs oneDNN's kernels
    (`onednn_enabled`): they beat XLA's own by 1.4x on an AVX2 EPYC, and
    XLA measured 30-40% slower on AVX-512 CPUs. Without oneDNN, XLA on x86
    CPUs without AVX-512, where it beat the plain kernels by 1.1-1.7x.
    """
    if jit_compile is not None:
        return bool(jit_compile)
    if _op_determinism_enabled():
        return False  # Keras turns XLA off under op determinism anyway
    if tf.config.list_physical_devices("GPU"):
        return True
    if onednn_enabled():
        return False
    return platform.machine() in ("x86_64", "AMD64") and not _has_avx512()


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its CPU ops with oneDNN's kernels.

    Fixed when TensorFlow is imported, by `TF_ENABLE_ONEDNN_OPTS` or by
    TensorFlow's CPU check; importing `keras_dcgan` first sets it on x86.
    """
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def hint_onednn() -> None:
    """Logs how to get oneDNN's kernels where TensorFlow started without."""
    if (
        "TF_ENABLE_ONEDNN_OPTS" not in os.environ
        and not onednn_enabled()
        and platform.machine() in ("x86_64", "AMD64")
        and not tf.config.list_physical_devices("GPU")
    ):
        logger.info(
            "TensorFlow was imported before keras_dcgan and runs without "
            "oneDNN's CPU kernels; for a faster step import keras_dcgan "
            "first, or set TF_ENABLE_ONEDNN_OPTS=1 before importing "
            "TensorFlow."
        )


def _op_determinism_enabled() -> bool:
    # No public getter for tf.config.experimental.enable_op_determinism().
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


def _has_avx512() -> bool:
    flags = cpu_flags()
    # Not Linux (no flags to read): assume a modern x86 CPU has it.
    return "avx512f" in flags if flags else True


def cpu_flags() -> frozenset:
    """The CPU's feature flags from /proc/cpuinfo (empty where unreadable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()
