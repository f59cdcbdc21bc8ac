"""Watching a run: non-finite losses stop it, collapses are flagged.

- A non-finite loss means the weights are already ruined by the step that
  produced it: training stops at once, and nothing is saved after it.
- A step can also leave non-finite weights behind while its own loss was
  still finite (its update overflowed). `FiniteGuard` checks every weight
  and optimizer slot after each step, and again before each checkpoint, so
  no checkpoint ever holds a NaN.
- "D wins outright": its loss stays near zero, so the generator gets no
  useful gradient.
- "Mode collapse": the fakes of a batch are nearly identical; `diversity`
  is the mean pairwise distance within a fake batch over the same within a
  real batch (about 1 when fakes vary as much as real images).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_dcgan.errors import NonFiniteLossError

logger = logging.getLogger(__name__)

D_WINS_LOSS = 0.01
COLLAPSED_DIVERSITY = 0.1


class FiniteGuard:
    """Tells, in one fused call, whether a set of variables is all finite.

    Args:
        variables: The variables a checkpoint holds (both models' weights
            and both optimizers' variables); non-float ones are ignored.
    """

    def __init__(self, variables: Sequence):
        self.variables = [v for v in variables if keras.backend.is_float_dtype(v.dtype)]
        self._all_finite = tf.function(
            lambda: tf.reduce_all(
                [tf.reduce_all(tf.math.is_finite(v.value)) for v in self.variables]
            )
        )

    def non_finite(self) -> list:
        """Paths of the variables holding NaN or infinity (usually [])."""
        if not self.variables or bool(self._all_finite()):
            return []
        return [
            v.path
            for v in self.variables
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(v)))
        ]

    def check(self, step: int, last_checkpoint) -> None:
        """Raises `NonFiniteLossError` if any variable is not finite."""
        bad = self.non_finite()
        if bad:
            raise NonFiniteLossError(
                _non_finite_message(
                    step,
                    f"{len(bad)} of {len(self.variables)} variables, e.g. "
                    f"{', '.join(bad[:3])}",
                    last_checkpoint,
                )
            )


def _non_finite_message(step: int, what: str, last_checkpoint) -> str:
    where = (
        f"the last checkpoint, {last_checkpoint}, is intact and "
        "finite: resume=True goes on from it"
        if last_checkpoint
        else "no checkpoint had been saved yet"
    )
    return (
        f"Non-finite values at step {step}: {what}. Training stopped "
        f"and nothing was saved after the bad step; {where}. Lower "
        "learning_rate=, or check the data for extreme values."
    )


class Monitor:
    """Checks each step's logs.

    Args:
        patience: Steps a collapse must last to be flagged (0: never).
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.d_wins = 0
        self.collapsed = 0

    def check(self, step: int, logs: dict, last_checkpoint) -> str:
        """Raises on non-finite values; returns an event name or ""."""
        # diversity is NaN by design when the real batch has no spread.
        bad = {
            k: v for k, v in logs.items() if k != "diversity" and not math.isfinite(v)
        }
        if bad:
            raise NonFiniteLossError(
                _non_finite_message(step, str(bad), last_checkpoint)
            )
        if not self.patience:
            return ""
        self.d_wins = self.d_wins + 1 if logs["d_loss"] < D_WINS_LOSS else 0
        diversity = logs.get("diversity", 1.0)
        self.collapsed = self.collapsed + 1 if diversity < COLLAPSED_DIVERSITY else 0
        if self.d_wins == self.patience:
            logger.warning(
                "Step %d: the discriminator wins outright (D loss < %g for %d "
                "steps, D(x)=%.3f, D(G(z))=%.3f): the generator gets no "
                "useful gradient. Try label_smoothing=0.1 or dropout=0.3.",
                step,
                D_WINS_LOSS,
                self.patience,
                logs["d_of_real"],
                logs["d_of_fake"],
            )
            return "discriminator_wins"
        if self.collapsed == self.patience:
            logger.warning(
                "Step %d: mode collapse: fakes nearly identical (diversity "
                "%.3f < %g for %d steps).",
                step,
                diversity,
                COLLAPSED_DIVERSITY,
                self.patience,
            )
            return "mode_collapse"
        return ""
