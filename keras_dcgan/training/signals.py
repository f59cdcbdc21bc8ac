"""Stopping a run cleanly: SIGINT and SIGTERM end it at a step boundary."""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)


class StopSignals:
    """SIGINT/SIGTERM only set a flag; the loop stops at a step boundary.

    A second SIGINT interrupts at once (KeyboardInterrupt), for a user who
    does not want to wait.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received = None
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        logger.warning(
            "Signal %d: stopping after this step, with a "
            "checkpoint (Ctrl-C again to abort now).",
            signum,
        )

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
