"""Which precision the training step computes in: `--precision auto`.

Chosen per kind of device by measurement (docs/BENCHMARKS.md), never by
the name of a feature alone:

- x86 CPU with AMX-BF16 (Intel Sapphire Rapids and later), oneDNN on:
  mixed_bfloat16, measured 1.41x (28 px) and 1.69x (64 px) the float32 step.
- x86 CPU with AVX512-BF16 but no AMX (AMD Zen 4, Zen 5): float32; bf16
  was level on one such machine and slower on another.
- x86 CPU without bf16 instructions (AVX2; AVX-512 before them): float32;
  bf16 measured up to 10x slower there (emulated kernels).
- GPU of compute capability 8.0 or later (Ampere, Hopper, ...):
  mixed_bfloat16 (native bf16 tensor cores; not yet measured by this
  project: benchmarks/device_check.sh measures it).
- GPU before 8.0 (T4, V100, ...), ARM CPUs, x86 without oneDNN: float32
  (not measured).

The weights stay float32 under every policy, and the generator's output
and the discriminator's probability are computed in float32, so saved
generators and exports take and give float32 whatever the run used.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import platform

from keras_dcgan.devices.kernels import cpu_flags, onednn_enabled

logger = logging.getLogger(__name__)

AUTO = "auto"


@dataclasses.dataclass(frozen=True)
class Device:
    """What decides the precision: the accelerator, else the CPU's flags.

    Attributes:
        gpu_capability: (major, minor) of the first GPU; None without one.
        cpu_flags: The CPU's feature flags (`/proc/cpuinfo`), lower case.
        onednn: Whether TensorFlow runs its CPU ops with oneDNN.
        machine: `platform.machine()`.
    """

    gpu_capability: tuple | None
    cpu_flags: frozenset
    onednn: bool
    machine: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """A resolved precision and the reason, for the run's first log line."""

    precision: str
    reason: str

    def describe(self) -> str:
        return f"Precision: {self.precision} ({self.reason})."


def choose_precision(device: Device) -> Choice:
    """The precision `auto` means on `device` (see the module's table).

    Example:
        >>> choose_precision(Device((9, 0), frozenset(), False, "x86_64")).precision
        'mixed_bfloat16'
    """
    if device.gpu_capability is not None:
        major, minor = device.gpu_capability
        if major >= 8:
            return Choice(
                "mixed_bfloat16",
                f"GPU of compute capability {major}.{minor}: native bf16",
            )
        return Choice(
            "float32",
            f"GPU of compute capability {major}.{minor}: no native bf16",
        )
    if device.machine not in ("x86_64", "AMD64"):
        return Choice("float32", f"{device.machine} CPU: bf16 not measured there")
    if "amx_bf16" in device.cpu_flags:
        if device.onednn:
            return Choice("mixed_bfloat16", "CPU with AMX-BF16 and oneDNN: 1.4-1.7x")
        return Choice("float32", "CPU with AMX-BF16 but oneDNN off: bf16 emulated")
    if "avx512_bf16" in device.cpu_flags:
        return Choice(
            "float32", "CPU with AVX512-BF16 but no AMX: bf16 measured no faster"
        )
    return Choice("float32", "CPU without bf16 instructions")


def resolve_precision(precision: str) -> str:
    """`precision` itself, or what `auto` means on this machine."""
    return describe_precision(precision).precision


def describe_precision(precision: str) -> Choice:
    """The precision a run computes in, with the reason.

    Args:
        precision: "auto" or an explicit policy ("float32",
            "mixed_bfloat16", "mixed_float16").

    Returns:
        The `Choice`; an explicit policy is kept, with a warning where this
        device emulates it.
    """
    if precision != AUTO:
        return Choice(precision, "asked for" + _emulated(precision))
    choice = choose_precision(this_device())
    return Choice(choice.precision, f"auto: {choice.reason}")


def _emulated(precision: str) -> str:
    auto = choose_precision(this_device())
    if precision == "float32" or auto.precision == precision:
        return ""
    if auto.reason.startswith("GPU") and precision == "mixed_float16":
        return ""
    if precision == "mixed_float16":
        return "; this CPU has no float16 arithmetic: emulated, slower"
    return (
        f"; {auto.reason.lower()}: the step may be several times slower "
        "(up to 10x measured on an AVX2 CPU)"
    )


@functools.cache
def this_device() -> Device:
    """The device training runs on (read once per process)."""
    import tensorflow as tf

    capability = None
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        capability = details.get("compute_capability")
    return Device(capability, cpu_flags(), onednn_enabled(), platform.machine())
