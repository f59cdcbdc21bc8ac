"""The networks of each architecture preset (`DCGANConfig.architecture`).

`blocks` holds what every preset shares (initialisers, BatchNorm, the dtype
policy, the number of stride-2 layers); one module per preset builds its
generator and discriminator; `presets` maps a preset's name to its module.
`keras_dcgan.models` is the public entry point.
"""
