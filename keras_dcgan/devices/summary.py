"""The run's first log line: where, with which kernels and in which precision."""

from __future__ import annotations

import tensorflow as tf

from keras_dcgan.devices.kernels import onednn_enabled, resolve_jit_compile
from keras_dcgan.devices.precision import describe_precision


def describe(strategy, jit_compile: str = "auto", precision: str = "auto") -> str:
    """One line on where and how training runs, for the first log line.

    Args:
        strategy: The `tf.distribute.Strategy` of the run.
        jit_compile: "auto", "on" or "off" (`DCGANConfig.jit_compile`).
        precision: `DCGANConfig.precision` ("auto" or a policy).

    Example:
        >>> describe(tf.distribute.get_strategy())
        'Device: CPU (no GPU found); oneDNN kernels on; XLA off; precision
        float32 (auto: CPU without bf16 instructions).'
    """
    gpus = tf.config.list_logical_devices("GPU")
    where = f"{len(gpus)} GPU(s)" if gpus else "CPU (no GPU found)"
    replicas = strategy.num_replicas_in_sync
    if replicas > 1:
        where += f", {replicas} replicas"
    xla = (
        resolve_jit_compile(None if jit_compile == "auto" else jit_compile == "on")
        and replicas == 1
    )
    choice = describe_precision(precision)
    return (
        f"Device: {where}; oneDNN kernels "
        f"{'on' if onednn_enabled() else 'off'}; XLA {'on' if xla else 'off'}; "
        f"precision {choice.precision} ({choice.reason})."
    )
