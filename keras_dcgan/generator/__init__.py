"""Using a trained generator: sampling, exploring and exporting it.

latent.py        latent vectors and the images a generator makes of them
explore.py       interpolation walks and latent arithmetic
nearest.py       samples beside their nearest training images
export.py        SavedModel for TF Serving, and TFLite
"""
