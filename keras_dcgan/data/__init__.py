"""Data: every source, loaded once, bounded, into `tf.data` batches in [-1, 1].

sources.py       load_images (by TFDS name, array file, image folder or
                 the offline default), as_image_data (what train takes),
                 suggest_shape, epoch_batches
arrays.py        .npz/.npy files and NumPy arrays
datasets.py      tf.data.Datasets of images, already at the run's size
folders.py       image folders: regular files only, bounded, bad files listed
tfds_source.py   TensorFlow Datasets
preprocess.py    size, channels and range of any image; ImageData
fingerprint.py   what a run was trained on, to refuse other data on resume
"""

from keras_dcgan.data.arrays import from_array, load_array
from keras_dcgan.data.datasets import from_dataset
from keras_dcgan.data.preprocess import (
    ImageData,
    match_channels,
    resize_images,
    to_float,
    to_uint8,
)
from keras_dcgan.data.sources import (
    OFFLINE_DEFAULT,
    as_image_data,
    epoch_batches,
    load_images,
    suggest_shape,
)
from keras_dcgan.errors import DataError

__all__ = [
    "OFFLINE_DEFAULT",
    "DataError",
    "ImageData",
    "as_image_data",
    "epoch_batches",
    "from_array",
    "from_dataset",
    "load_array",
    "load_images",
    "match_channels",
    "resize_images",
    "suggest_shape",
    "to_float",
    "to_uint8",
]
