"""The generator a reader asks for: which checkpoint, averaged or raw.

`keras-dcgan sample|export|interpolate|arithmetic|nearest|evaluate
--checkpoint latest|best|STEP` and `load_generator(run, checkpoint=...)`
come here. `latest` is the newest readable checkpoint in
`RUN/checkpoints/`; `best` the one `--eval-every` keeps in
`RUN/checkpoints/best/` (see `keras_dcgan.training.periodic_eval`); a step
number that step's checkpoint, in either folder. Nothing of the run is
written: the files are only read.

`--generator ema|raw` (`load_generator(run, generator=...)`) chooses, in a
run trained with `--ema`, between the average of G's weights (the default,
what training sampled and scored) and the raw G.
"""

from __future__ import annotations

import json
import logging
import numbers
import os

from keras_dcgan import bounds
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import RunError
from keras_dcgan.runs.checkpoint_index import complete_checkpoints
from keras_dcgan.runs.checkpoint_read import no_average_message, restore_models
from keras_dcgan.runs.run_dir import (
    BEST_DIR,
    BEST_JSON,
    CHECKPOINTS,
    check_literal_path,
    find_run_config,
)

logger = logging.getLogger(__name__)

CHOICES = ("latest", "best")
GENERATORS = ("ema", "raw")  # the generator average, or the raw generator
MAX_BEST_JSON = 2**16  # best.json is a few dozen bytes

Choice = str | int  # "latest", "best" or a step


def check_choice(which) -> Choice:
    """Returns `which` if it names a checkpoint: "latest", "best" or a step.

    Raises:
        RunError: Anything else; the message lists the accepted forms.
    """
    if isinstance(which, str) and which in CHOICES:
        return which
    if (
        isinstance(which, numbers.Integral)
        and not isinstance(which, bool)
        and 0 <= which <= bounds.MAX_STEP
    ):
        return int(which)
    raise RunError(
        f"checkpoint={str(which)[:40]!r}: use latest (the newest "
        "checkpoint), best (the one eval_every= keeps) or a step "
        "number, e.g. 1200."
    )


def choose_generator(
    run_dir: str, config: DCGANConfig | None, which: str | None = None
) -> str | None:
    """The generator `which` asks for of a run: "ema" or "raw".

    Args:
        run_dir: The run directory, for messages.
        config: Its config; None when it has no `config.json`.
        which: "ema" (the average of G's weights), "raw" (G itself) or
            None: the average when the run has one (`config.ema`), else G.

    Returns:
        "ema" or "raw"; None for a run without `config.json` asked for no
        generator in particular (its `generator.keras` is read as it is).

    Raises:
        RunError: `which` is neither; "ema" of a run trained without
            `--ema`; either of a run without `config.json`.

    Example:
        >>> choose_generator("runs/mnist", load_run_config("runs/mnist"))
        'ema'
    """
    if which is not None and not (isinstance(which, str) and which in GENERATORS):
        raise RunError(
            f"generator={str(which)[:40]!r}: use ema (the average of G's weights "
            "that train ema= keeps) or raw (G itself)."
        )
    if config is None:
        if which is None:
            return None
        raise RunError(
            f"generator={which}: {run_dir} has no config.json to tell "
            "whether it kept an averaged generator; leave out generator=."
        )
    if which == "ema" and not config.ema:
        raise RunError(no_average_message(run_dir))
    return which or ("ema" if config.ema else "raw")


def generator_of_run(run_dir: str, which: str | None = None) -> str | None:
    """`choose_generator` for the run in `run_dir` (reads its config).

    Example:
        >>> generator_of_run("runs/mnist", "raw")
        'raw'
    """
    return choose_generator(run_dir, find_run_config(run_dir), which)


def checkpoint_steps(run_dir: str) -> dict:
    """Every complete checkpoint of a run: {step: path}, the best included.

    Example:
        >>> checkpoint_steps("runs/mnist")
        {3900: 'runs/mnist/checkpoints/best/ckpt-3900',
         4290: 'runs/mnist/checkpoints/ckpt-4290', ...}
    """
    check_literal_path(run_dir)
    folder = os.path.join(run_dir, CHECKPOINTS)
    found = {}
    for directory in (os.path.join(folder, BEST_DIR), folder):
        if os.path.isdir(directory):
            for name in complete_checkpoints(directory):
                found[int(name.rsplit("-", 1)[1])] = os.path.join(directory, name)
    return dict(sorted(found.items()))


def restore_chosen(
    run_dir: str,
    which: Choice,
    config: DCGANConfig | None = None,
    average: bool = False,
    discriminator: bool = True,
) -> tuple:
    """A run's models from the checkpoint `which` names, reading only.

    Args:
        run_dir: The run directory.
        which: "latest", "best" or a step number.
        config: The run's config (default: its `config.json`).
        average: Return the generator average (of a run trained with
            `ema`) instead of the raw generator.
        discriminator: Restore D too (else None in its place: only G is
            built).

    Returns:
        (generator, discriminator).

    Raises:
        RunError: `which` is malformed or names no checkpoint of the run
            (the message lists those there are), or it cannot be read.

    Example:
        >>> generator, _ = restore_chosen("runs/mnist", "best")
    """
    which = check_choice(which)
    check_literal_path(run_dir)
    folder = os.path.join(run_dir, CHECKPOINTS)
    if which == "latest":
        if not (os.path.isdir(folder) and complete_checkpoints(folder)):
            raise RunError(
                f"checkpoint=latest: {run_dir} has no complete checkpoint "
                f"in {CHECKPOINTS}/; leave checkpoint= out to use its "
                "generator.keras, or train it to write one."
            )
        models = restore_models(
            run_dir, config, average=average, discriminator=discriminator
        )
        logger.info("Using the newest readable checkpoint of %s.", run_dir)
        return models
    path = _best_path(run_dir) if which == "best" else _step_path(run_dir, which)
    models = restore_models(
        run_dir, config, path=path, average=average, discriminator=discriminator
    )
    logger.info("Using checkpoint %s.", path)
    return models


def _best_path(run_dir: str) -> str:
    """The best checkpoint: best.json's step, else the newest in best/."""
    directory = os.path.join(run_dir, CHECKPOINTS, BEST_DIR)
    names = complete_checkpoints(directory) if os.path.isdir(directory) else ()
    if not names:
        raise RunError(
            f"checkpoint=best: {run_dir} has no best checkpoint: only a run "
            "trained with eval_every=N and eval_features= keeps one (in "
            f"{CHECKPOINTS}/{BEST_DIR}/); use checkpoint=latest or a step "
            f"instead ({_available(run_dir)})."
        )
    record = _best_record(directory)
    name = f"ckpt-{record.get('step')}"
    if name not in names:  # an older best whose record was not rewritten
        name = max(names, key=lambda n: int(n.rsplit("-", 1)[1]))
    elif isinstance(record.get("value"), (int, float)):
        logger.info(
            "The best checkpoint of %s: step %s, %s %.4f.",
            run_dir,
            record["step"],
            record.get("metric"),
            record["value"],
        )
    return os.path.join(directory, name)


def _step_path(run_dir: str, step: int) -> str:
    steps = checkpoint_steps(run_dir)
    if step not in steps:
        raise RunError(
            f"checkpoint={step}: {run_dir} has no checkpoint of "
            f"step {step}; {_available(run_dir)}."
        )
    return steps[step]


def _available(run_dir: str) -> str:
    steps = list(checkpoint_steps(run_dir))
    if not steps:
        return "it has no checkpoint at all"
    return "its checkpoints are of steps " + ", ".join(map(str, steps))


def _best_record(directory: str) -> dict:
    """best.json as a dict; {} if missing or unreadable (it only informs)."""
    path = os.path.join(directory, BEST_JSON)
    if not os.path.isfile(path):  # a FIFO planted there would never end
        return {}
    try:
        with open(path, "rb") as f:
            record = json.loads(f.read(MAX_BEST_JSON))
    except (OSError, ValueError, RecursionError):
        return {}
    return record if isinstance(record, dict) else {}
