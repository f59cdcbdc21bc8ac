"""`train` on a `tf.data.Dataset` of images (keras_dcgan/data/datasets.py):
it trains and resumes, and every dataset it cannot use is refused up front
with one line naming the problem and the fix."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import make_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras_dcgan
from keras_dcgan.data import from_array, from_dataset
from keras_dcgan.data.fingerprint import data_fingerprint
from keras_dcgan.errors import DataError

slices = tf.data.Dataset.from_tensor_slices
EXPECTED = "[28, 28, 1] (image_size=28, channels=1)"


def blobs(n=48):
    """uint8 [n, 28, 28, 1] blob images."""
    return make_images(n)[..., None]


def refused(dataset, match) -> str:
    """The one-line DataError `from_dataset` gives, checked for `match`."""
    with pytest.raises(DataError, match=match) as info:
        from_dataset(dataset, 28, 1)
    message = str(info.value)
    assert "\n" not in message and message.startswith("tf.data.Dataset: ")
    return message


def test_train_takes_a_dataset_and_resumes_on_it(tmp_path, tiny_config):
    assert keras_dcgan.from_dataset is from_dataset  # exported lazily
    x = blobs()
    dataset = slices((x, np.arange(len(x))))  # (image, label): the image
    run = str(tmp_path / "run")
    config = dataclasses.replace(tiny_config, steps=2, checkpoint_every=2)
    keras_dcgan.train(config, dataset, run, verbose=0)
    history = keras_dcgan.train(
        dataclasses.replace(config, steps=4), dataset, run, resume=True, verbose=0
    )
    assert history["step"] == [1, 2, 3, 4]
    for name in ("config.json", "data.json", "generator.keras", "history.csv"):
        assert os.path.getsize(os.path.join(run, name)) > 0, name
    generator = keras_dcgan.load_generator(run)
    z = keras_dcgan.sample_latents(3, tiny_config.latent_dim, seed=0)
    assert keras_dcgan.generate(generator, z).shape == (3, 28, 28, 1)
    # Other images are refused on resume, as for every source.
    with pytest.raises(DataError, match="the data differs"):
        keras_dcgan.train(
            dataclasses.replace(config, steps=6),
            slices(255 - x),
            run,
            resume=True,
            verbose=0,
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda x: slices(x),
        lambda x: slices({"image": x, "label": np.arange(len(x))}),
        lambda x: slices(x.astype(np.float32) / 127.5 - 1.0),
        lambda x: slices(x.astype(np.float64) / 127.5 - 1.0),
        lambda x: (
            slices(x)
            .filter(lambda i: True)
            .apply(tf.data.experimental.assert_cardinality(len(x)))
        ),
    ],
    ids=["uint8", "dict", "float32", "float64", "asserted_count"],
)
def test_every_accepted_form_gives_the_images_of_the_array(make):
    x = blobs()
    images = from_dataset(make(x), 28, 1)
    assert images.num_images == len(x)
    np.testing.assert_array_equal(np.stack(list(images.dataset)), x)
    # The same data as the array: the same fingerprint, hence resumable.
    ours, theirs = (data_fingerprint(i, "s") for i in (images, from_array(x, 28, 1)))
    assert ours == theirs


SIDES = [1, 3, 4, 8, 20, 27, 28, 29, 64]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shape=st.one_of(
        st.lists(st.sampled_from(SIDES), min_size=0, max_size=5),
        st.tuples(st.sampled_from(SIDES), st.sampled_from(SIDES)).map(
            lambda hw: [*hw, 1]
        ),
        st.sampled_from(SIDES).map(lambda c: [28, 28, c]),
    ),
    dtype=st.sampled_from(
        ["uint8", "float32", "float16", "float64", "int8", "uint16", "int64", "bool"]
    ),
)
def test_shapes_and_dtypes_are_checked_before_reading(shape, dtype):
    # Made lazily: a (64, 64, 64, 64, 64) element is never allocated.
    dataset = tf.data.Dataset.range(2).map(lambda i: tf.zeros(shape, dtype))
    good_dtype = dtype in ("uint8", "float32", "float16", "float64")
    if good_dtype and shape == [28, 28, 1]:
        assert from_dataset(dataset, 28, 1).num_images == 2
    elif not good_dtype:
        refused(dataset, f"dtype {dtype}; give uint8 in \\[0, 255\\] or float")
    else:
        assert EXPECTED in refused(dataset, "shape")


# Made in the tests, not at collection: each a function of the images.
NOT_IMAGES = {
    "batched": (lambda x: slices(x).batch(16), "look batched.*dataset.unbatch"),
    "batched_exact": (
        lambda x: slices(x).batch(5, drop_remainder=True),
        "look batched",
    ),
    "no_channel_axis": (
        lambda x: slices(x[..., 0]),
        "no channel axis.*x\\[..., None\\]",
    ),
    "rgb_for_gray": (
        lambda x: slices(np.repeat(x, 3, -1)),
        "convert them.*or set channels",
    ),
    "larger": (
        lambda x: slices(make_images(8, size=32)[..., None]),
        "resize them.*image_size",
    ),
    "not_square": (lambda x: slices(x[:, :, :20]), "\\(28, 20, 1\\).*resize"),
    "rank_5": (lambda x: slices(x[..., None, None]), "not images"),
    "scalars": (lambda x: slices(x[:, 0, 0, 0]), "not images"),
    "encoded": (lambda x: slices(np.array([b"png"] * 4)), "dtype string.*decode"),
    "dict_without_image": (lambda x: slices({"pixels": x}), 'an "image" key'),
    "ragged": (lambda x: slices(tf.ragged.constant([[1, 2], [3]])), "not images"),
    "nested_tuple": (lambda x: slices(((x, x),)), "not images"),
}


@pytest.mark.parametrize("name", NOT_IMAGES)
def test_datasets_that_are_not_such_images_are_refused(name):
    make, match = NOT_IMAGES[name]
    refused(make(blobs()), match)


def test_images_of_unknown_shape_are_refused_naming_the_shape_to_state():
    spec = tf.TensorSpec([None, None, 1], tf.uint8)
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(blobs()), output_signature=spec
    )
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(48))
    refused(dataset, "not known up front.*tf.ensure_shape\\(x, \\[28, 28, 1\\]\\)")
    dataset = dataset.map(lambda x: tf.ensure_shape(x, [28, 28, 1]))
    assert from_dataset(dataset, 28, 1).num_images == 48


NOT_FINITE = {
    "repeat": (lambda x: slices(x).repeat(), "repeats forever"),
    "repeat_map": (lambda x: slices(x).repeat().map(tf.identity), "repeats forever"),
    "filter": (lambda x: slices(x).filter(lambda i: True), "assert_cardinality"),
    "generator": (
        lambda x: tf.data.Dataset.from_generator(
            lambda: iter(x), output_signature=tf.TensorSpec([28, 28, 1], tf.uint8)
        ),
        "assert_cardinality",
    ),
    "empty": (lambda x: slices(x[:0]), "no images"),
}


@pytest.mark.parametrize("name", NOT_FINITE)
def test_infinite_unknown_and_empty_datasets_are_refused(name):
    make, match = NOT_FINITE[name]
    refused(make(blobs()), match)


@pytest.mark.parametrize(
    "values,match",
    [
        (blobs().astype(np.float32), "in \\[0, 255\\].*x / 127.5 - 1"),
        (blobs().astype(np.float32) / 127.5 - 1.5, "in \\[-1.5, 0.5\\]"),
        (np.full((4, 28, 28, 1), np.nan, np.float32), "NaN or infinite"),
        (np.full((4, 28, 28, 1), -np.inf, np.float16), "NaN or infinite"),
    ],
)
def test_float_images_outside_minus_one_one_are_refused(values, match):
    refused(slices(values), match)


def test_a_float_image_out_of_range_after_those_checked_stops_the_pipeline():
    x = np.full((300, 28, 28, 1), -1.0, np.float32)
    x[290] = 2.0  # beyond the 256 images checked up front
    images = from_dataset(slices(x), 28, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside \\[-1, 1\\]"):
        list(images.dataset)


BAD_FOR_TRAIN = {
    "batched": (lambda: slices(blobs()).batch(16), {}, "look batched"),
    "infinite": (lambda: slices(blobs()).repeat(), {}, "repeats forever"),
    "int32": (lambda: slices(blobs().astype(np.int32)), {}, "dtype int32"),
    "list": (lambda: [blobs()], {}, "type list"),
    "center_crop": (
        lambda: slices(blobs()),
        {"center_crop": 20},
        "center_crop=20 is not applied",
    ),
}


@pytest.mark.parametrize("name", BAD_FOR_TRAIN)
def test_train_refuses_them_before_the_run_dir_is_made(tmp_path, tiny_config, name):
    make, changes, match = BAD_FOR_TRAIN[name]
    run = tmp_path / "run"
    config = dataclasses.replace(tiny_config, **changes)
    with pytest.raises(DataError, match=match):
        keras_dcgan.train(config, make(), str(run), verbose=0)
    assert not run.exists()
