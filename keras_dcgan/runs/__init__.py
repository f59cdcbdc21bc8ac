"""Runs: the run directory, its checkpoints, and loading what it saved.

run_dir.py       what a run writes, checked before anything is written;
                 resume rules
ownership.py     the marker that makes a folder a run; --overwrite
                 removes only what it lists
runlock.py       one writer per run
checkpoint_store.py  the write side: what a checkpoint holds, saving,
                 resume with fallback
checkpoint_read.py   the read side: a generator (or its average) alone
checkpoint_index.py  which files count as checkpoints; the index repaired
checkpoints.py   the public names of the three above
loading.py       a run's generator, safely (safe_mode, checkpoint fallback)
selection.py     the generator a reader asks for: latest, best or a step;
                 averaged (--ema) or raw
workers.py       where each worker of a multi-worker run writes
"""

from keras_dcgan.lazy import lazy_exports

# Imported on first use: `ownership`, `runlock` and the checks of the
# command line need no TensorFlow, and a mistake is answered without it.
_RUN_DIR = "keras_dcgan.runs.run_dir"
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "check_generator": "keras_dcgan.runs.loading",
        "load_generator": "keras_dcgan.runs.loading",
        "load_model_safely": "keras_dcgan.runs.loading",
        **dict.fromkeys(
            (
                "CHECKPOINTS",
                "CONFIG",
                "DATA",
                "DISCRIMINATOR",
                "GENERATOR",
                "GENERATOR_RAW",
                "HISTORY",
                "LOSSES",
                "PROGRESS",
                "RUN_FILES",
                "SAMPLES",
                "TENSORBOARD",
                "check_run_dir",
                "claim_run",
                "keep_run_values",
                "load_run_config",
                "prepare_run_dir",
                "resume_changes",
                "save_model",
            ),
            _RUN_DIR,
        ),
    },
)
