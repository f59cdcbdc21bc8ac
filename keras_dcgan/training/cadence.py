"""When a run saves its checkpoint: often enough to lose little, rarely
enough not to dominate a small run.

With `checkpoint_every` N the loop saves every N steps, as asked. By
default (`checkpoint_every` 0) it saves by time, as Keras'
`BackupAndRestore` saves by a frequency: at the first step boundary
`checkpoint_minutes` after the previous save, so a run of small epochs does
not spend its time writing checkpoints. Whatever the cadence, the loop also
saves at the end of the run and, at once, on SIGINT/SIGTERM.
"""

from __future__ import annotations

import time

# The clock of the cadence; a test may replace it.
_clock = time.monotonic


class CheckpointCadence:
    """Tells the loop, after each step, whether a checkpoint is due.

    Args:
        every: Steps between checkpoints (0: by time).
        minutes: With `every` 0, the least time between two checkpoints
            (0: every step).

    Example:
        >>> cadence = CheckpointCadence(every=0, minutes=5.0)
        >>> if cadence.due(step):
        ...     save(step)
        ...     cadence.saved()
    """

    def __init__(self, every: int, minutes: float):
        self.every, self.seconds = every, 60.0 * minutes
        self.last = _clock()  # the run's start counts as a save

    def due(self, step: int) -> bool:
        """Whether to save after `step`."""
        if self.every:
            return step % self.every == 0
        return _clock() - self.last >= self.seconds

    def saved(self) -> None:
        """Restarts the clock: a checkpoint was just written."""
        self.last = _clock()
