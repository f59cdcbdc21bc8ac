"""The generator and discriminator of each architecture preset
(`DCGANConfig.architecture`): all model building lives here.

builders.py      `build_generator`, `build_discriminator` and the checks
                 before any weight is made: the public entry point
presets.py       a preset's name -> the module that builds its networks
dcgan.py, keras_tutorial.py, dcgan_conv.py   one module per preset
blocks.py        what the presets share: initialisers, BatchNorm, the
                 dtype policy, the stride-2 stacks, the classifier
"""

from keras_dcgan.lazy import lazy_exports

# Imported on first use, as the package's other public names: a module
# that only needs `blocks` does not build the preset table first.
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    dict.fromkeys(
        ("build_generator", "build_discriminator", "check_config"),
        "keras_dcgan.networks.builders",
    ),
)
