"""Where each worker of a multi-worker run writes: the chief, its run."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import tensorflow as tf

from keras_dcgan.devices import distribute
from keras_dcgan.runs import ownership
from keras_dcgan.runs.run_dir import CHECKPOINTS, CONFIG, DATA, HISTORY


@contextlib.contextmanager
def worker_run_dir(
    strategy: tf.distribute.Strategy, run_dir: str, resume: bool = False
):
    """The directory this process writes its run to.

    The chief writes `run_dir`. Every other worker of a multi-worker run
    still goes through the same steps, checkpoints included (saving reads
    values that are synchronized across workers, so all must take part),
    but into a temporary directory, deleted at the end; on resume it starts
    from a copy of the chief's checkpoints, so `run_dir` must be on storage
    all workers see.
    """
    if distribute.is_chief(strategy):
        yield run_dir
        return
    temp = tempfile.mkdtemp(prefix="keras_dcgan_worker_")
    try:
        copy = os.path.join(temp, "run")
        os.makedirs(copy)
        if resume:
            for name in (CONFIG, HISTORY, DATA, CHECKPOINTS, ownership.MARKER):
                source = os.path.join(run_dir, name)
                if os.path.isdir(source):
                    shutil.copytree(source, os.path.join(copy, name))
                elif os.path.isfile(source):
                    shutil.copy2(source, copy)
        yield copy
    finally:
        shutil.rmtree(temp, ignore_errors=True)
