"""Training: the loop that drives the composite and writes the run.

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

from keras_dcgan.training.loop import train
from keras_dcgan.training.sample_grids import SampleGrids

__all__ = ["SampleGrids", "train"]
