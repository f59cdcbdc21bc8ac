"""Runs: the run directory, its checkpoints, and loading what it saved.

run_dir.py       what a run writes, checked before anything is written;
                 resume rules
ownership.py     the marker that makes a folder a run; --overwrite
                 removes only what it lists
runlock.py       one writer per run
checkpoints.py   checkpoints that survive crashes; restore with fallback
loading.py       a run's generator, safely (safe_mode, checkpoint fallback)
selection.py     the generator a reader asks for: latest, best or a step;
                 averaged (--ema) or raw
workers.py       where each worker of a multi-worker run writes
"""

from keras_dcgan.runs.loading import check_generator, load_generator, load_model_safely
from keras_dcgan.runs.run_dir import (
    CHECKPOINTS,
    CONFIG,
    DATA,
    DISCRIMINATOR,
    GENERATOR,
    GENERATOR_RAW,
    HISTORY,
    LOSSES,
    PROGRESS,
    RUN_FILES,
    SAMPLES,
    TENSORBOARD,
    check_run_dir,
    claim_run,
    keep_run_values,
    load_run_config,
    prepare_run_dir,
    resume_changes,
    save_model,
)

__all__ = [
    "check_generator",
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
    "load_generator",
    "load_model_safely",
    "keep_run_values",
    "load_run_config",
    "prepare_run_dir",
    "resume_changes",
    "save_model",
]
