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

from keras_dcgan.lazy import lazy_exports

# Imported on first use, so that `keras_dcgan.data` costs no TensorFlow
# until a name of it is used.
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "OFFLINE_DEFAULT": "keras_dcgan.data.sources",
        "DataError": "keras_dcgan.errors",
        "ImageData": "keras_dcgan.data.preprocess",
        "as_image_data": "keras_dcgan.data.sources",
        "epoch_batches": "keras_dcgan.data.sources",
        "from_array": "keras_dcgan.data.arrays",
        "from_dataset": "keras_dcgan.data.datasets",
        "load_array": "keras_dcgan.data.arrays",
        "load_images": "keras_dcgan.data.sources",
        "match_channels": "keras_dcgan.data.preprocess",
        "resize_images": "keras_dcgan.data.preprocess",
        "suggest_shape": "keras_dcgan.data.sources",
        "to_float": "keras_dcgan.data.preprocess",
        "to_uint8": "keras_dcgan.data.preprocess",
    },
)
