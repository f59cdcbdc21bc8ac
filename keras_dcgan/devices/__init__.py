"""Devices: where the training step runs, and on which kernels.

distribute.py    tf.distribute strategies, batches split per replica
kernels.py       XLA or not, oneDNN or not: chosen by measurement
"""
