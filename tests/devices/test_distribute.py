"""tf.distribute: the global batch is split across replicas, replicas stay
in sync, and a step on two replicas computes what one device computes."""

import dataclasses
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import real_batch

from keras_dcgan.data import from_array
from keras_dcgan.dcgan import DCGAN
from keras_dcgan.devices import distribute
from keras_dcgan.errors import ConfigError, StrategyError
from keras_dcgan.training import train


@pytest.fixture
def mirrored():
    strategy = distribute.make_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    return strategy


def spy_batch_sizes(model):
    """Records the batch size each replica's train step is traced with."""
    seen, step = [], model.train_step

    def train_step(data):
        seen.append(int(data[0].shape[0]))
        return step(data)

    model.train_step = train_step
    return seen


def test_each_replica_trains_on_its_half_of_the_batch(tiny_config, mirrored):
    gan = DCGAN(tiny_config, strategy=mirrored)
    d_sizes = spy_batch_sizes(gan.discriminator)
    g_sizes = spy_batch_sizes(gan.combined)
    z, fakes = gan.make_fakes()
    half = tiny_config.batch_size // 2
    assert [t.shape[0] for t in mirrored.experimental_local_results(z)] == [half, half]
    assert [t.shape[0] for t in mirrored.experimental_local_results(fakes)] == [
        half,
        half,
    ]
    gan.train_step(real_batch(tiny_config))
    assert d_sizes == [half, half]  # traced once per replica
    assert g_sizes == [half, half]


def test_replicas_hold_identical_weights_after_training(tiny_config, mirrored):
    gan = DCGAN(tiny_config, strategy=mirrored)
    for seed in range(3):
        gan.train_step(real_batch(tiny_config, seed))
    variables = gan.generator.weights + gan.discriminator.weights
    assert any("moving_mean" in v.path for v in variables)
    for variable in variables:
        copies = [np.asarray(c) for c in variable.value.values]
        assert len(copies) == 2
        np.testing.assert_array_equal(copies[0], copies[1], err_msg=variable.path)


def weights(gan):
    return [np.asarray(v) for v in gan.generator.weights + gan.discriminator.weights]


@pytest.mark.parametrize("update", ["separate", "summed"])
def test_two_replicas_compute_what_one_device_computes(tiny_config, mirrored, update):
    config = dataclasses.replace(
        tiny_config, batch_size=32, discriminator_update=update
    )
    keras.utils.set_random_seed(0)
    single = DCGAN(config)
    keras.utils.set_random_seed(0)
    split = DCGAN(config, strategy=mirrored)
    split.generator.set_weights(single.generator.get_weights())
    split.discriminator.set_weights(single.discriminator.get_weights())
    start = weights(single)
    for seed in range(3):
        real = real_batch(config, seed)
        one, two = single.train_step(real), split.train_step(real)
        for name in (
            "d_loss_real",
            "d_loss_fake",
            "g_loss",
            "d_of_real",
            "d_of_fake",
            "diversity",
        ):
            assert two[name] == pytest.approx(one[name], rel=1e-4, abs=1e-5), name
    for s, a, b in zip(start, weights(single), weights(split)):
        moved = np.abs(a - s).max()
        np.testing.assert_allclose(b, a, atol=1e-5 + 0.02 * moved)


def test_batch_that_does_not_split_is_refused(tiny_config, mirrored):
    config = dataclasses.replace(tiny_config, batch_size=15)
    with pytest.raises(ConfigError, match="multiple of the 2 replicas"):
        DCGAN(config, strategy=mirrored)


def test_unknown_and_unavailable_strategies_say_what_to_do(monkeypatch):
    with pytest.raises(StrategyError, match="strategy="):
        distribute.make_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(StrategyError, match="TF_CONFIG"):
        distribute.make_strategy("multi_worker")
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(distribute.os.path, "exists", lambda path: False)
    with pytest.raises(StrategyError, match="no TPU"):
        distribute.make_strategy("tpu")


def test_auto_and_one_device_on_a_cpu_machine():
    assert distribute.make_strategy("auto").num_replicas_in_sync == 1
    one = distribute.make_strategy("one_device")
    assert one.num_replicas_in_sync == 1
    assert distribute.is_chief(one)


WORKER = """
import json, os, sys
import numpy as np
import keras
from keras_dcgan import DCGANConfig, make_strategy, train
from keras_dcgan.data import from_array

strategy = make_strategy("multi_worker")   # first, before any TF work
run_dir, dump, images_file = sys.argv[1:4]
config = DCGANConfig(**json.loads(sys.argv[4]))


class Dump(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        np.savez(dump, *[np.asarray(v) for v in self.model.weights])


images = from_array(np.load(images_file)["x"], 28, 1)
train(config, images, run_dir, callbacks=[Dump()], verbose=0,
      strategy=strategy)
print("replicas", strategy.num_replicas_in_sync)
"""


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_train_one_model(tmp_path, tiny_config, npz_file):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    config = dataclasses.replace(
        tiny_config, steps=4, batch_size=16, strategy="multi_worker"
    )
    fields = json.dumps(dataclasses.asdict(config))
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        )
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(script),
                    str(tmp_path / "run"),
                    str(tmp_path / f"weights_{index}.npz"),
                    npz_file,
                    fields,
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
        assert "replicas 2" in output
    # The chief wrote the run; the other worker wrote nothing there.
    run = tmp_path / "run"
    assert (run / "generator.keras").is_file()
    rows = (run / "history.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert not [
        p for p in tmp_path.iterdir() if p.name.startswith("keras_dcgan_worker")
    ]
    # Both workers hold the same model at the end, and it trained.
    chief, other = (np.load(tmp_path / f"weights_{i}.npz") for i in range(2))
    assert len(chief.files) == len(other.files) > 10
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], other[name])
    generator = keras.saving.load_model(run / "generator.keras")
    np.testing.assert_array_equal(generator.weights[0], chief["arr_0"])
    # And it is the model one device trains on the same data and seed.
    images = from_array(np.load(npz_file)["x"], 28, 1)
    alone = dataclasses.replace(config, strategy="auto")
    keras.utils.set_random_seed(alone.seed)
    start = [np.asarray(v) for v in DCGAN(alone).combined.weights]
    train(alone, images, str(tmp_path / "alone"), verbose=0)
    single = keras.saving.load_model(tmp_path / "alone" / "generator.keras")
    final = [np.asarray(v) for v in single.weights]
    for i, (s, a) in enumerate(zip(start, final)):
        moved = np.abs(a - s).max()
        np.testing.assert_allclose(chief[f"arr_{i}"], a, atol=1e-5 + 0.02 * moved)


def test_a_mirrored_run_resumes_on_one_device(
    tmp_path, tiny_config, npz_file, mirrored
):
    images = from_array(np.load(npz_file)["x"], 28, 1)
    config = dataclasses.replace(tiny_config, steps=2, strategy="mirrored")
    run = str(tmp_path / "run")
    train(config, images, run, verbose=0, strategy=mirrored)
    more = dataclasses.replace(config, steps=3, strategy="auto")
    history = train(more, images, run, resume=True, verbose=0)
    assert history["step"] == [1, 2, 3]
    assert (tmp_path / "run" / "generator.keras").is_file()
