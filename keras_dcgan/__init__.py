"""keras_dcgan: DCGAN (Radford et al., 2015) the Keras composite-model way.

The public names below are imported on first use, so `import keras_dcgan`
(and the `keras-dcgan` command's start-up) does not load TensorFlow early.
"""

import logging
import os
import platform
import sys

# oneDNN's CPU kernels ran this library's training step 1.4x faster than
# TensorFlow's default ones on an AVX2 x86 CPU (docs/BENCHMARKS.md), but
# TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16 or
# AMX, and reads the switch once, when it is imported. A user's own
# setting wins; `kernels.onednn_enabled` tells what TensorFlow did.
if "tensorflow" not in sys.modules and platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

from keras_dcgan.lazy import lazy_exports  # noqa: E402

_EXPORTS = {
    "DCGANError": "keras_dcgan.errors",
    "ConfigError": "keras_dcgan.errors",
    "RunError": "keras_dcgan.errors",
    "TrainingError": "keras_dcgan.errors",
    "DCGANConfig": "keras_dcgan.config",
    "DCGAN": "keras_dcgan.dcgan",
    "CompositeDCGAN": "keras_dcgan.composite",
    "build_discriminator": "keras_dcgan.networks",
    "build_generator": "keras_dcgan.networks",
    "DataError": "keras_dcgan.errors",
    "from_array": "keras_dcgan.data",
    "from_dataset": "keras_dcgan.data",
    "load_images": "keras_dcgan.data",
    "train": "keras_dcgan.training",
    "make_strategy": "keras_dcgan.devices.distribute",
    "load_generator": "keras_dcgan.runs",
    "epoch_batches": "keras_dcgan.data",
    "sample_latents": "keras_dcgan.generator.latent",
    "generate": "keras_dcgan.generator.latent",
    "export_saved_model": "keras_dcgan.generator.export",
    "export_tflite": "keras_dcgan.generator.export",
    "interpolate": "keras_dcgan.generator.explore",
    "latent_arithmetic": "keras_dcgan.generator.explore",
    "nearest_neighbours": "keras_dcgan.generator.nearest",
    "evaluate_generator": "keras_dcgan.quality.evaluation",
    "make_extractor": "keras_dcgan.quality.features",
    "train_classifier": "keras_dcgan.quality.classifier",
}


def enable_logging(level: int = logging.INFO) -> None:
    """Shows keras_dcgan's log lines (progress, checkpoints, warnings).

    The library only logs (`logging.getLogger(__name__)`); the command line
    shows those lines, and a script or notebook shows them after this call
    (or its own `logging` setup). Each line is shown once: after this call
    the lines are not passed on to the root logger, whatever handlers
    TensorFlow or absl give it.

    Args:
        level: The lowest level shown, e.g. `logging.WARNING`.

    Example:
        >>> import keras_dcgan
        >>> keras_dcgan.enable_logging()
    """
    logger = logging.getLogger("keras_dcgan")
    if not any(getattr(h, "_keras_dcgan", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._keras_dcgan = True
        logger.addHandler(handler)
    # Shown here, so not passed on as well: TensorFlow's checkpoint code
    # logs through absl, whose first use calls `logging.basicConfig()`, and
    # a handler of the root logger would print every line a second time.
    logger.propagate = False
    logger.setLevel(level)


__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted([*__all__, "enable_logging"])
