"""The architecture presets by name: `DCGANConfig.architecture` -> the
module that builds that preset's generator and discriminator."""

from __future__ import annotations

from types import ModuleType

from keras_dcgan.bounds import IMAGE_SIZES
from keras_dcgan.config import ARCHITECTURES
from keras_dcgan.errors import ConfigError
from keras_dcgan.networks import dcgan, dcgan_conv, keras_tutorial

# In the order of `config.ARCHITECTURES` (a test holds them equal); each
# module has `build_generator(config, sync)` and `build_discriminator(...)`.
PRESETS = {
    "dcgan": dcgan,
    "keras-tutorial": keras_tutorial,
    "dcgan-conv": dcgan_conv,
}
# Image sizes each preset builds (every preset builds every size today).
SIZES = {name: IMAGE_SIZES for name in PRESETS}


def preset(architecture: str, image_size: int) -> ModuleType:
    """The module that builds `architecture`'s networks at `image_size`.

    Raises:
        ConfigError: An unknown preset, or a size it does not build; the
            message lists what is supported.
    """
    if architecture not in PRESETS:
        raise ConfigError(
            f"architecture={architecture!r} is not supported; use one of "
            f"{', '.join(ARCHITECTURES)}."
        )
    if image_size not in SIZES[architecture]:
        raise ConfigError(
            f"architecture={architecture!r} builds image sizes "
            f"{', '.join(map(str, SIZES[architecture]))}, not {image_size} "
            "(image_size=)."
        )
    return PRESETS[architecture]
