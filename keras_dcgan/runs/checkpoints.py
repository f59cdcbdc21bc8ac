"""Checkpoints that survive crashes: the public names of the three modules
that keep them, by concern.

checkpoint_store.py   the write side and resume: `TrainingState`,
                      `make_checkpoint`, `CheckpointStore` (save, restore
                      with fallback), `open_run_checkpoints`
checkpoint_read.py    the read side: a run's generator (and D) rebuilt from
                      its config and restored, no optimizer built
checkpoint_index.py   the index and files of a checkpoint folder: which
                      are the run's own, leftovers of a killed save removed,
                      the index rebuilt
"""

from keras_dcgan.runs.checkpoint_index import (
    MAX_INDEX_BYTES,
    complete_checkpoints,
    tidy_index,
)
from keras_dcgan.runs.checkpoint_read import (
    all_finite,
    no_average_message,
    restore_generator,
    restore_models,
)
from keras_dcgan.runs.checkpoint_store import (
    RESTORE_TRIES,
    CheckpointStore,
    TrainingState,
    checkpoint_variables,
    make_checkpoint,
    open_run_checkpoints,
)

__all__ = [
    "MAX_INDEX_BYTES",
    "RESTORE_TRIES",
    "CheckpointStore",
    "TrainingState",
    "all_finite",
    "checkpoint_variables",
    "complete_checkpoints",
    "make_checkpoint",
    "no_average_message",
    "open_run_checkpoints",
    "restore_generator",
    "restore_models",
    "tidy_index",
]
