"""Training on several devices or machines with `tf.distribute`.

Keras' `train_on_batch` under a strategy runs `strategy.run(train_step)`
on whatever it is given. Given an ordinary tensor, every replica trains on
the *whole* batch: no work is split, and on two GPUs each step costs what
it costs on one. `DCGAN` therefore hands `train_on_batch` values already
split per replica (`split_batch`), made from the global batch every worker
holds. With BatchNormalization synchronized across replicas (batch
statistics over the global batch) and Keras scaling each replica's loss by
1 / replicas before the gradients are summed, a step on R replicas computes
what one device computes on the whole batch.

Example:
    >>> strategy = make_strategy("mirrored")
    >>> gan = DCGAN(config, strategy=strategy)   # models built in its scope
    >>> logs = gan.train_step(real_images)       # global batch, split here
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from keras_dcgan.config import STRATEGIES
from keras_dcgan.errors import StrategyError

logger = logging.getLogger(__name__)


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Makes a `tf.distribute.Strategy` by name.

    Args:
        name: "auto" (all GPUs mirrored when there are several, else the
            default strategy), "one_device" (the first GPU, or the CPU),
            "mirrored" (all GPUs, or every logical CPU when there is no
            GPU), "multi_worker" (`MultiWorkerMirroredStrategy`, from the
            `TF_CONFIG` environment variable) or "tpu".

    Returns:
        The strategy; the same object for the same name within a process
        (two live strategies' collectives would be mixed up). For
        "multi_worker" call this before any other TensorFlow work:
        collective ops are configured at start-up.

    Raises:
        StrategyError: The strategy needs hardware or settings that are
            not there.
    """
    if not isinstance(name, str) or name not in STRATEGIES:
        raise StrategyError(
            f"strategy={str(name)[:40]!r} is not supported; use one of "
            f"{', '.join(STRATEGIES)} (strategy=)."
        )
    if name not in _STRATEGIES:
        _STRATEGIES[name] = _make(name)
    return _STRATEGIES[name]


_STRATEGIES = {}


def _make(name: str) -> tf.distribute.Strategy:
    if name == "multi_worker":  # before anything initialises TensorFlow
        return _multi_worker()
    if name == "tpu":
        return _tpu()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        if len(devices) == 1:
            logger.warning(
                "strategy=mirrored found one device (%s): training runs on it alone.",
                devices[0],
            )
        return tf.distribute.MirroredStrategy(devices)
    raise AssertionError(name)


def _multi_worker() -> tf.distribute.Strategy:
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise StrategyError(
            "strategy=multi_worker needs the TF_CONFIG environment variable "
            'on every worker, e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": '
            '"worker", "index": 0}}\' (README, "Several GPUs and '
            'machines").'
        )
    try:
        json.loads(config)
    except ValueError as e:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({e}).") from None
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
        raise StrategyError(
            f"MultiWorkerMirroredStrategy could not start ({e}); make it "
            "before any other TensorFlow work (keras_dcgan.make_strategy "
            "first thing in the program)."
        ) from None


def _tpu() -> tf.distribute.Strategy:
    # Look before asking TensorFlow: its resolver would query the cloud
    # metadata server over the network to find out there is no TPU.
    name = os.environ.get("TPU_NAME")
    local = any(os.path.exists(p) for p in ("/dev/accel0", "/dev/vfio/0"))
    if not name and not local:
        raise StrategyError(
            "strategy=tpu found no TPU (no TPU_NAME, no local TPU device); "
            "run on a TPU VM or set TPU_NAME, or pick another strategy=."
        )
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=name or "local"
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        raise StrategyError(
            f"strategy=tpu: the TPU {name or 'local'} could not be used ({e})."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
    """True when batches must be split (several replicas)."""
    return strategy.num_replicas_in_sync > 1


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run: always, except on the
    non-chief workers of a multi-worker run."""
    return bool(strategy.extended.should_checkpoint)


def split_batch(strategy: tf.distribute.Strategy, tensor):
    """The global batch `tensor` as per-replica slices along axis 0.

    Every worker holds the same global batch (same data, seed and order);
    each replica takes its own slice, by its global replica index.
    """
    if not is_distributed(strategy) or isinstance(
        tensor, tf.distribute.DistributedValues
    ):
        return tensor
    count = strategy.num_replicas_in_sync

    def slice_for(context):
        return tf.split(tensor, count)[context.replica_id_in_sync_group]

    return strategy.experimental_distribute_values_from_function(slice_for)


def local_batch(strategy: tf.distribute.Strategy, values) -> tf.Tensor:
    """Per-replica values of this worker, concatenated along axis 0."""
    if not is_distributed(strategy):
        return values
    return tf.concat(strategy.experimental_local_results(values), axis=0)


def vector_logs(train_step):
    """Wraps a model's `train_step` to return logs of shape [1].

    Across workers Keras reduces the logs of `train_on_batch` with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars
    ("Invalid reduction dimension 0", Keras 3.15); [1] reduces to a scalar.
    """

    def step(data):
        return {
            name: tf.reshape(value, [1]) for name, value in train_step(data).items()
        }

    return step
