"""The run directory: what a training run writes, and how it is reopened.

RUN/config.json          the DCGANConfig of the run
RUN/data.json            the fingerprint of its training data
RUN/history.csv          losses, D(x) and D(G(z)) by step
RUN/samples/epoch_XXXX.png  grids from one fixed noise batch
RUN/losses.png, RUN/progress.gif
RUN/checkpoints/         tf.train.Checkpoint files (latest few)
RUN/checkpoints/best/    the best by --eval-metric, with best.json
RUN/tensorboard/         the same curves for TensorBoard
RUN/generator.keras, RUN/discriminator.keras  written at the end
                         (generator.keras: the average with `config.ema`)
RUN/generator_raw.keras  with `config.ema`: the raw generator, at the end
RUN/.keras_dcgan_run.json  the marker: what is the run's (`ownership`)
RUN/.keras_dcgan.lock    held by the one process writing the run
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import re
import stat
from typing import TYPE_CHECKING

from keras_dcgan.atomic import atomic_write
from keras_dcgan.config import ARCHITECTURE_FIELDS, DCGANConfig
from keras_dcgan.errors import ConfigError, RunError
from keras_dcgan.reading import special_file_kind
from keras_dcgan.runs import ownership
from keras_dcgan.runs.runlock import LOCK

if TYPE_CHECKING:
    import keras

# TensorFlow (through `devices.precision` and `keras`) is imported only by
# the functions that need it: `check_run_dir` refuses a wrong --output-dir
# before the command loads TensorFlow.

logger = logging.getLogger(__name__)

CONFIG = "config.json"
HISTORY = "history.csv"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LOSSES = "losses.png"
PROGRESS = "progress.gif"
GENERATOR = "generator.keras"  # the generator average with config.ema
GENERATOR_RAW = "generator_raw.keras"  # with config.ema: the raw generator
DISCRIMINATOR = "discriminator.keras"
TENSORBOARD = "tensorboard"
DATA = "data.json"
BEST_DIR = "best"  # in CHECKPOINTS: the best checkpoint by --eval-metric
BEST_JSON = "best.json"  # in BEST_DIR: {"metric", "value", "step"}
INDEX = "checkpoint"  # in CHECKPOINTS and BEST_DIR: TensorFlow's checkpoint index
# What TensorFlow's file matcher reads as a pattern in the paths its
# checkpoint code is given (fnmatch, and its escape character).
PATTERN_CHARACTERS = "*?[]\\"
# The files of a checkpoint: TensorFlow opens them for reading and writing.
CHECKPOINT_FILE = re.compile(r"(ckpt-\d+)(?:\.index|\.data-(\d+)-of-(\d+))")
RUN_FILES = (
    CONFIG,
    HISTORY,
    SAMPLES,
    CHECKPOINTS,
    LOSSES,
    PROGRESS,
    GENERATOR,
    DISCRIMINATOR,
    TENSORBOARD,
    DATA,
    GENERATOR_RAW,
)


# What each entry is: --overwrite removes an entry only while it still is.
RUN_KINDS = {
    name: "dir" if name in (SAMPLES, CHECKPOINTS, TENSORBOARD) else "file"
    for name in RUN_FILES
}
# The run's own bookkeeping, never deleted: a directory holding only these
# counts as empty.
BOOKKEEPING = (ownership.MARKER, LOCK)


def prepare_run_dir(
    path: str, config: DCGANConfig, resume: bool = False, overwrite: bool = False
) -> DCGANConfig:
    """Checks and sets up the output directory of a training run.

    A new run needs an empty (or missing) directory. `resume` reopens a run
    and refuses a config whose architecture differs from the saved one.
    `overwrite` deletes what a previous run's manifest lists, and only that
    (see `keras_dcgan.runs.ownership`): a directory without the marker loses
    nothing. Call it holding the run's lock (`keras_dcgan.runs.runlock`).

    Args:
        path: The run directory.
        config: The run's config; a None seed is replaced by a random one.
        resume: Continue the run saved in `path`.
        overwrite: Replace the run saved in `path`.

    Returns:
        The config to train with (the saved one's architecture on resume).

    Raises:
        RunError: The directory's contents and the flags do not agree.
        ConfigError: `resume` with a different architecture.
    """
    check_run_dir(path, resume, overwrite)
    if resume:
        saved = DCGANConfig.from_json(os.path.join(path, CONFIG))
        config = keep_run_values(saved, config)
        changes = resume_changes(saved, config)
        if changes:
            logger.info(
                "Changed on resume: %s.",
                "; ".join(
                    f"{k} {old!r} -> {new!r}" for k, (old, new) in changes.items()
                ),
            )
            config.to_json(os.path.join(path, CONFIG))
        return config
    if overwrite and ownership.read_manifest(path) is not None:
        ownership.remove_owned(path, RUN_KINDS)
    claim_run(path)
    os.makedirs(os.path.join(path, SAMPLES), exist_ok=True)
    if config.seed is None:
        config = dataclasses.replace(config, seed=random.randrange(2**31))
    from keras_dcgan.devices.precision import resolve_precision

    # The run records what "auto" meant on the machine that started it.
    config = dataclasses.replace(config, precision=resolve_precision(config.precision))
    config.to_json(os.path.join(path, CONFIG))
    return config


def keep_run_values(saved: DCGANConfig, config: DCGANConfig) -> DCGANConfig:
    """`config` with the run's own values where it asks for "any":
    no seed means the run's seed, `precision="auto"` the run's precision
    (resolved when it started, so a resumed run computes as it did)."""
    if config.seed is None:
        config = dataclasses.replace(config, seed=saved.seed)
    from keras_dcgan.devices.precision import AUTO

    if config.precision == AUTO:
        config = dataclasses.replace(config, precision=saved.precision)
    return config


def claim_run(path: str) -> None:
    """Marks `path` as a run that may write every one of `RUN_FILES`.

    A resumed run of an earlier version (no marker) gets its marker here,
    once its checkpoint has restored: that proves it is a keras_dcgan run.
    """
    ownership.claim(path, RUN_FILES)


def check_run_dir(path: str, resume: bool = False, overwrite: bool = False) -> None:
    """Refuses, before anything is written, a directory the flags do not fit.

    Raises:
        RunError: With the reason and the fix.
    """
    if resume and overwrite:
        raise RunError("Pass resume=True or overwrite=True, not both.")
    ownership.check_output_dir(path)
    check_literal_path(path, "output_dir=")
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunError(f"output_dir={path} is a file; name a directory.")
    _refuse_planted_links(path)
    listed = ownership.read_manifest(path)
    existing = (
        [n for n in os.listdir(path) if n not in BOOKKEEPING]
        if os.path.isdir(path)
        else []
    )
    if resume:
        if CONFIG not in existing:
            raise RunError(
                f"resume=True: {path} holds no run ({CONFIG} is "
                "missing); start a new run without resume=True."
            )
    elif existing and not overwrite:
        raise RunError(
            f"output_dir={path} is not empty. Pass resume=True to continue "
            "the run in it, overwrite=True to replace it, or choose another "
            "directory."
        )
    elif existing and listed is None:
        raise RunError(
            f"overwrite=True: {path} is not a keras_dcgan run (it has no "
            f"{ownership.MARKER}: another tool's files, or a run made before "
            "runs carried that marker, which resume=True still continues); its "
            "files are left alone. Choose another output_dir=."
        )
    if listed is not None:
        _refuse_unlisted(path, listed)
    if resume:
        for folder in (CHECKPOINTS, os.path.join(CHECKPOINTS, BEST_DIR)):
            refuse_special_checkpoint_files(os.path.join(path, folder))


def check_literal_path(path: str, flag: str | None = None) -> None:
    """Refuses a run path that TensorFlow's checkpoint code reads as a pattern.

    TensorFlow matches the paths it is given (to find, restore and rotate
    checkpoints) as patterns: `runs/mnist*` would match, and its rotation
    delete, the checkpoints of `runs/mnist_a`. The whole absolute path
    counts (a parent folder's `[` too).

    Args:
        path: The run directory, or a folder inside it.
        flag: "output_dir=" for the run `train` writes; None for a run
            that is read.

    Raises:
        RunError: The path holds one of `PATTERN_CHARACTERS`; the message
            names it and the fix.
    """
    full = os.path.abspath(path)
    found = next((c for c in full if c in PATTERN_CHARACTERS), None)
    if found is None:
        return
    where = path if found in path else f"{path} (full path {full})"
    chars = " ".join(PATTERN_CHARACTERS)
    fix = (
        f"choose an {flag} whose path has none of {chars}"
        if flag
        else f"move the run (mv) to a folder whose path has none of {chars}"
    )
    raise RunError(
        f"{flag + ' ' if flag else ''}{where}: the path holds '{found}', which "
        "TensorFlow's checkpoint files treat as a pattern (it could match "
        f"other runs' files); {fix}."
    )


def not_regular(path: str) -> str | None:
    """What `path` is if it exists but is not a regular file, else None.

    Only `lstat` is used: nothing is opened (a FIFO would block) and no
    link is followed (a link is named as one).
    """
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return None
    return "symbolic link" if stat.S_ISLNK(mode) else special_file_kind(mode)


def refuse_special_checkpoint_files(directory: str) -> None:
    """Refuses a checkpoint folder whose index or checkpoint files are not
    regular files: TensorFlow would hang opening a FIFO, read a device, or
    write through a link to wherever it leads.

    Raises:
        RunError: Naming the first such file and the fix; nothing changed.
    """
    if not os.path.isdir(directory) or os.path.islink(directory):
        return
    for name in sorted(os.listdir(directory)):
        if name != INDEX and not CHECKPOINT_FILE.fullmatch(name):
            continue
        kind = not_regular(os.path.join(directory, name))
        if kind:
            raise RunError(
                f"{os.path.join(directory, name)} is a {kind}, not a file the "
                "run wrote (its checkpoint files are regular files); nothing "
                "was changed. Remove it and run again."
            )


def _refuse_unlisted(path: str, listed: list) -> None:
    """A run writes only names its manifest lists: others are not its own."""
    for name in RUN_FILES:
        if name not in listed and os.path.lexists(os.path.join(path, name)):
            raise RunError(
                f"{os.path.join(path, name)} is not listed in the run's "
                f"{ownership.MARKER}, so it is not the run's; move it away "
                "or choose another output_dir=."
            )


def _refuse_planted_links(path: str) -> None:
    """The run's own files and folders must not lead outside the run."""
    # checkpoints/best: written by TensorFlow (training.periodic_eval).
    for name in RUN_FILES + (os.path.join(CHECKPOINTS, BEST_DIR),):
        target = os.path.join(path, name)
        if os.path.islink(target):
            raise RunError(
                f"{target} is a symbolic link (to {os.readlink(target)}); a "
                "run writes only inside its output_dir=. Remove the link or "
                "choose another directory."
            )


# Fields a resumed run cannot change: the networks' shapes, what fixes the
# data order and the position in it (the batch size and the seed), and the
# generator average (its checkpoint holds an average of that decay, or none).
RESUME_FIXED_FIELDS = ARCHITECTURE_FIELDS + ("batch_size", "seed", "ema")


def resume_changes(saved: DCGANConfig, new: DCGANConfig) -> dict:
    """What a resumed run changes, after refusing what it cannot change.

    Args:
        saved: The run's config.json.
        new: The config asked for on resume.

    Returns:
        {field: (old, new)} of every other field that differs; these are
        honoured by the resumed run and recorded in its config.json.

    Raises:
        ConfigError: A field of `RESUME_FIXED_FIELDS` differs; every such
            difference is listed.
    """
    changed = {
        f.name: (getattr(saved, f.name), getattr(new, f.name))
        for f in dataclasses.fields(DCGANConfig)
        if getattr(saved, f.name) != getattr(new, f.name)
    }
    refused = [
        f"{k}: run has {old!r}, asked {asked!r}"
        for k, (old, asked) in changed.items()
        if k in RESUME_FIXED_FIELDS
    ]
    if refused:
        raise ConfigError(
            "Cannot resume with a different "
            + "; ".join(refused)
            + ". The architecture, batch size, seed and generator average "
            "(ema=) of a run are fixed: keep the run's values, or start a "
            "new run in another output_dir=."
        )
    return {k: v for k, v in changed.items() if k not in RESUME_FIXED_FIELDS}


def load_run_config(run_dir: str) -> DCGANConfig:
    """The `DCGANConfig` saved in a run directory."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.lexists(path):  # a FIFO or a link: from_json names it
        raise RunError(f"{run_dir} is not a keras_dcgan run ({CONFIG} is missing).")
    return DCGANConfig.from_json(path)


def find_run_config(run_dir: str) -> DCGANConfig | None:
    """The run's `DCGANConfig`, or None where it has no `config.json`
    (a folder holding only a copied `generator.keras`)."""
    if not os.path.lexists(os.path.join(run_dir, CONFIG)):
        return None
    return load_run_config(run_dir)


def save_model(model: keras.Model, path: str) -> None:
    """Saves a `.keras` file atomically: a crash never leaves half a file."""
    with atomic_write(path) as tmp:  # keeps the .keras suffix Keras needs
        model.save(tmp)


__all__ = [
    "prepare_run_dir",
    "check_run_dir",
    "check_literal_path",
    "claim_run",
    "resume_changes",
    "load_run_config",
    "find_run_config",
    "save_model",
]
