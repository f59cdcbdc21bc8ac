"""history.csv (and TensorBoard): one row per logged step, kept in memory
for the loss plot.

Rows are appended as training goes; on resume, rows logged after the
restored checkpoint are dropped (those steps run again), and a row cut short
by a crash is ignored rather than fatal.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os

import tensorflow as tf

from keras_dcgan.atomic import atomic_write
from keras_dcgan.reading import open_regular

logger = logging.getLogger(__name__)

METRICS = (
    "d_loss_real",
    "d_loss_fake",
    "d_loss",
    "g_loss",
    "d_of_real",
    "d_of_fake",
    "diversity",
)
COLUMNS = ("step", "epoch") + METRICS + ("eval", "seconds", "event")


def _parse(row: dict):
    try:
        parsed = {k: int(row[k]) for k in ("step", "epoch")}
        parsed.update({k: float(row[k]) for k in METRICS + ("seconds",)})
        parsed["eval"] = float(row.get("eval") or math.nan)
    except (KeyError, TypeError, ValueError):
        return None
    parsed["event"] = row.get("event") or ""
    return parsed


class History:
    """The run's history, in memory (`columns`) and in `history.csv`.

    Args:
        path: The CSV file.
        keep_until: Keep existing rows up to this step (0: start afresh).
    """

    def __init__(
        self,
        path: str,
        keep_until: int = 0,
        tensorboard_dir: str | None = None,
        eval_name: str = "eval",
    ):
        self.path = path
        self.eval_name = eval_name
        self.writer = (
            tf.summary.create_file_writer(tensorboard_dir) if tensorboard_dir else None
        )
        self.columns = {name: [] for name in COLUMNS}
        self.pending = []
        if keep_until and os.path.lexists(path):
            self._load(keep_until)
        self._rewrite()

    def _load(self, keep_until: int) -> None:
        path = self.path
        try:  # a FIFO planted there would hang a plain open
            f = io.TextIOWrapper(open_regular(path), newline="")
        except OSError as e:
            logger.warning("%s is unreadable (%s); the history starts afresh.", path, e)
            return
        with f:
            for row in csv.DictReader(f):
                parsed = _parse(row)
                if parsed is None:
                    logger.warning("%s: ignoring a damaged row %s.", path, row)
                elif parsed["step"] <= keep_until:
                    self._append(parsed)

    def _append(self, row: dict) -> None:
        for name in COLUMNS:
            self.columns[name].append(row.get(name, ""))

    def _rewrite(self) -> None:
        with atomic_write(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(zip(*(self.columns[n] for n in COLUMNS)))

    def add(
        self, step: int, epoch: int, logs: dict, seconds: float, event: str = ""
    ) -> None:
        """Adds a row (written to disk at the next `flush`)."""
        row = dict(logs, step=step, epoch=epoch, seconds=round(seconds, 3), event=event)
        row.setdefault("diversity", math.nan)
        row.setdefault("eval", math.nan)
        self._append(row)
        self._summarize(row)
        self.pending.append([row[n] for n in COLUMNS])

    def _summarize(self, row: dict) -> None:
        if self.writer is None:
            return
        with self.writer.as_default(step=row["step"]):
            for name in METRICS:
                if math.isfinite(row[name]):
                    tf.summary.scalar(name, row[name])
            if math.isfinite(row["eval"]):
                tf.summary.scalar(f"eval/{self.eval_name}", row["eval"])

    def summarize_config(self, config: dict) -> None:
        """The run's hyperparameters, for TensorBoard's HParams tab (and as
        text, for its Text tab)."""
        if self.writer is None:
            return
        from tensorboard.plugins.hparams import api as hparams

        values = {
            k: v if isinstance(v, (bool, int, float, str)) else str(v)
            for k, v in config.items()
        }
        with self.writer.as_default(step=0):
            hparams.hparams(values)
            tf.summary.text(
                "config",
                "\n".join(f"    {k}: {v!r}" for k, v in sorted(config.items())),
            )

    def summarize_images(self, name: str, images, step: int | None = None) -> None:
        """A batch of uint8 images [N, H, W, C] (e.g. a sample grid, N = 1)
        for TensorBoard's Images tab.

        Args:
            name: The tag.
            images: uint8 [N, H, W, C].
            step: The global step shown; default: that of the latest row, so
                that the Images tab lines up with the Scalars tab (an epoch
                number there would put the grid of epoch 3 at step 3).
        """
        if step is None:
            step = self.columns["step"][-1] if self.columns["step"] else 0
        if self.writer is not None:
            with self.writer.as_default(step=step):
                tf.summary.image(name, images, max_outputs=len(images))

    def flush(self) -> None:
        """Appends the pending rows to the CSV file."""
        if self.pending:
            # Appended only to the regular file _rewrite made (never a FIFO).
            with io.TextIOWrapper(
                open_regular(self.path, append=True), newline=""
            ) as f:
                csv.writer(f).writerows(self.pending)
            self.pending = []
        if self.writer is not None:
            self.writer.flush()
