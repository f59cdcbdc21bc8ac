"""A quiet TensorFlow start: its C++ start-up lines are not for users.

TensorFlow 2.21 writes several lines to stderr when it is imported and
when it first looks for devices, whatever `TF_CPP_MIN_LOG_LEVEL` says
(they come before its logging is set up). On a machine without an NVIDIA
GPU one of them is a red `E0000 ... failed call to cuInit: ... CUDA error`,
which tells a CPU user nothing. The command imports TensorFlow with
stderr captured, and passes on every line except the known start-up ones;
the CUDA ones are dropped only where there is no NVIDIA device, so a real
GPU problem on a GPU machine is still reported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

# Lines TensorFlow writes on every start; nothing to act on.
ALWAYS = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
)
# Lines about CUDA: noise where there is no NVIDIA device, news where there is.
CUDA = (
    "cudart_stub",
    "Could not find cuda drivers",
    "cuInit",
    "cuda_platform",
    "cuda_dnn",
    "cuda_fft",
    "cuda_blas",
    "computation placer already registered",
)


def has_nvidia_device() -> bool:
    """Whether the machine shows an NVIDIA driver or device."""
    return any(
        os.path.exists(p)
        for p in ("/proc/driver/nvidia", "/dev/nvidia0", "/dev/nvidiactl")
    )


def is_noise(line: str, gpu: bool) -> bool:
    """Whether a start-up line of TensorFlow's is dropped."""
    if any(marker in line for marker in ALWAYS):
        return True
    return not gpu and any(marker in line for marker in CUDA)


@contextlib.contextmanager
def _stderr_to(file):
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def tensorflow_quietly():
    """Captures stderr while TensorFlow may be imported, then passes on
    every line that is not start-up noise.

    The command's checks run inside too: some of them import modules that
    import TensorFlow, whose lines would otherwise come first. Nothing is
    captured when the user asks for TensorFlow's logs
    (`TF_CPP_MIN_LOG_LEVEL` set to 0).
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        try:
            with _stderr_to(captured):
                yield
        finally:  # also after a failed import: its lines are the user's clue
            captured.seek(0)
            _pass_on(captured.read().decode(errors="replace"))


def start_tensorflow() -> None:
    """Imports TensorFlow and lists its devices (where the CUDA lines come)."""
    import tensorflow as tf

    tf.config.list_physical_devices()


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and lists its devices, filtering the chatter.

    Does nothing when TensorFlow is already imported, or when the user asks
    for its logs (`TF_CPP_MIN_LOG_LEVEL` set to 0).
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    with tensorflow_quietly():
        start_tensorflow()


def _pass_on(text: str) -> None:
    """Writes to stderr every captured line that is not start-up noise."""
    gpu = has_nvidia_device()
    kept = [
        line for line in text.splitlines() if line.strip() and not is_noise(line, gpu)
    ]
    if kept:
        print("\n".join(kept), file=sys.stderr)
