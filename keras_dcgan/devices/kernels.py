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


def describe(strategy, jit_compile: str = "auto") -> str:
    """One line on where and how training runs, for the first log line.

    Args:
        strategy: The `tf.distribute.Strategy` of the run.
        jit_compile: "auto", "on" or "off" (`DCGANConfig.jit_compile`).

    Example:
        >>> describe(tf.distribute.get_strategy())
        'Device: CPU (no GPU found); oneDNN kernels on; XLA off.'
    """
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    where = f"{len(gpus)} GPU(s)" if gpus else "CPU (no GPU found)"
    replicas = strategy.num_replicas_in_sync
    if replicas > 1:
        where += f", {replicas} replicas"
    xla = (
        resolve_jit_compile(None if jit_compile == "auto" else jit_compile == "on")
        and replicas == 1
    )
    return (
        f"Device: {where}; oneDNN kernels "
        f"{'on' if onednn_enabled() else 'off'}; XLA {'on' if xla else 'off'}."
    )


def _op_determinism_enabled() -> bool:
    # No public getter for tf.config.experimental.enable_op_determinism().
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


def _has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(
                line.startswith("flags") and "avx512f" in line.split() for line in f
            )
    except OSError:  # not Linux: assume a modern x86 CPU has it
        return True
