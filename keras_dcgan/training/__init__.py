"""Training: the loop that drives the composite and writes the run.

preflight.py     the checks before a run, shared by train() and --dry-run
loop.py          train(): tf.data in, train steps, the run directory out;
                 signals, resume
progress.py      a bar on a terminal, plain log lines elsewhere
cadence.py       when a checkpoint is due: every N steps, or by time
history.py       history.csv and TensorBoard
monitor.py       non-finite values stop the run; collapses are flagged
periodic_eval.py quality during training; the best checkpoint kept
sample_grids.py  the per-epoch sample grid, a Keras callback
signals.py       SIGINT/SIGTERM stop the run at a step boundary
"""

from keras_dcgan.lazy import lazy_exports

# Imported on first use, so that `keras_dcgan.training` costs no
# TensorFlow until a name of it is used.
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Preflight": "keras_dcgan.training.preflight",
        "SampleGrids": "keras_dcgan.training.sample_grids",
        "preflight": "keras_dcgan.training.preflight",
        "train": "keras_dcgan.training.loop",
    },
)
