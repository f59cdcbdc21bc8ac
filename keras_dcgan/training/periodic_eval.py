"""Evaluation during training, and the `best` checkpoint it keeps.

Every `eval_every` steps the generator's samples are scored (FID by default)
against statistics of the training images computed once at the start. The
checkpoint with the best score so far is kept in `RUN/checkpoints/best/`,
apart from the rotating latest ones, so a late collapse never overwrites it.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from keras_dcgan.atomic import write_text
from keras_dcgan.quality import evaluation, features
from keras_dcgan.runs.checkpoint_index import tidy_index
from keras_dcgan.runs.run_dir import BEST_DIR, BEST_JSON

logger = logging.getLogger(__name__)

# Lower is better for the distances, higher for the scores.
LOWER_IS_BETTER = {
    "fid": True,
    "kid": True,
    "is": False,
    "precision": False,
    "recall": False,
}


def metric_value(report: dict, name: str) -> float:
    """One number out of an `evaluate_generator` report."""
    if name in ("precision", "recall"):
        return float(report["pr"][name])
    return float(report[name]["value"])


class PeriodicEvaluator:
    """Scores the generator every `config.eval_every` steps.

    Args:
        config: Uses `eval_every`, `eval_features`, `eval_metric`,
            `eval_num` and `seed`.
        images: The training images (the real side of the comparison).
        checkpoint: The run's `tf.train.Checkpoint`, saved as the best.
        checkpoint_dir: `RUN/checkpoints`.
        extractor: The features (default: made from `config.eval_features`;
            the trainer makes them first, so a bad name fails early).
    """

    def __init__(
        self,
        config,
        images,
        checkpoint: tf.train.Checkpoint,
        checkpoint_dir: str,
        extractor: features.FeatureExtractor | None = None,
    ):
        self.config = config
        self.metric = config.eval_metric
        self.extractor = (
            extractor
            if extractor is not None
            else features.make_extractor(config.eval_features)
        )
        self.real = evaluation.real_stats(
            images, self.extractor, config.eval_num, seed=config.seed
        )
        self.best_dir = os.path.join(checkpoint_dir, BEST_DIR)
        # Its manager deletes what its index lists: only this folder's own.
        tidy_index(self.best_dir)
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.best_dir, max_to_keep=1
        )
        self.best = self._read_best()

    def _read_best(self) -> dict | None:
        path = os.path.join(self.best_dir, BEST_JSON)
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def due(self, step: int) -> bool:
        return bool(self.config.eval_every) and step % self.config.eval_every == 0

    def evaluate(self, generator, step: int) -> float:
        """Scores the generator now; saves it as the best if it is."""
        name = "pr" if self.metric in ("precision", "recall") else self.metric
        report = evaluation.evaluate_generator(
            generator,
            self.real,
            self.extractor,
            self.config.eval_num,
            seed=self.config.seed,
            metric_names=(name,),
        )
        value = metric_value(report, self.metric)
        better = self.best is None or (
            value < self.best["value"]
            if LOWER_IS_BETTER[self.metric]
            else value > self.best["value"]
        )
        logger.info(
            "Step %d: %s %.4f%s.",
            step,
            self.metric,
            value,
            " (best so far)" if better else "",
        )
        if better:
            self.manager.save(checkpoint_number=step)
            self.best = {"metric": self.metric, "value": value, "step": step}
            write_text(
                os.path.join(self.best_dir, BEST_JSON), json.dumps(self.best, indent=2)
            )
        return value
