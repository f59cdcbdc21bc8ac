"""Watching a run: non-finite losses stop it, collapses are flagged.

- A non-finite loss means the weights are already ruined by the step that
  produced it: training stops at once, and nothing is saved after it.
- "D wins outright": its loss stays near zero, so the generator gets no
  useful gradient.
- "Mode collapse": the fakes of a batch are nearly identical; `diversity`
  is the mean pairwise distance within a fake batch over the same within a
  real batch (about 1 when fakes vary as much as real images).
"""

from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

D_WINS_LOSS = 0.01
COLLAPSED_DIVERSITY = 0.1


class TrainingError(RuntimeError):
    """Training stopped; `exit_code` is what the CLI returns."""

    exit_code = 1


class NonFiniteLossError(TrainingError):
    """A loss became NaN or infinite."""

    exit_code = 3


class TrainingCollapsed(TrainingError):
    """A collapse lasted `collapse_patience` steps and `stop_on_collapse`."""

    exit_code = 4


class TrainingInterrupted(TrainingError):
    """SIGINT or SIGTERM: the run saved a checkpoint and stopped."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"Stopped by signal {signum} after step {step}; "
                         "the checkpoint is saved: --resume goes on.")
        self.signum, self.step = signum, step
        self.exit_code = 128 + signum  # the shell's convention


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
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            where = (f"the last checkpoint, {last_checkpoint}, is intact: "
                     "--resume goes on from it" if last_checkpoint
                     else "no checkpoint had been saved yet")
            raise NonFiniteLossError(
                f"Non-finite values at step {step}: {bad}. Training stopped "
                f"and nothing was saved after the bad step; {where}. Lower "
                "--learning-rate, or check the data for extreme values.")
        if not self.patience:
            return ""
        self.d_wins = self.d_wins + 1 if logs["d_loss"] < D_WINS_LOSS else 0
        diversity = logs.get("diversity", 1.0)
        self.collapsed = (self.collapsed + 1
                          if diversity < COLLAPSED_DIVERSITY else 0)
        if self.d_wins == self.patience:
            logger.warning(
                "Step %d: the discriminator wins outright (D loss < %g for %d "
                "steps, D(x)=%.3f, D(G(z))=%.3f): the generator gets no "
                "useful gradient. Try --label-smoothing 0.1 or --dropout 0.3.",
                step, D_WINS_LOSS, self.patience, logs["d_of_real"],
                logs["d_of_fake"])
            return "discriminator_wins"
        if self.collapsed == self.patience:
            logger.warning(
                "Step %d: mode collapse: fakes nearly identical (diversity "
                "%.3f < %g for %d steps).", step, diversity,
                COLLAPSED_DIVERSITY, self.patience)
            return "mode_collapse"
        return ""
