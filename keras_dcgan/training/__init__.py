"""Training: the loop that drives the composite and writes the run.

    loop.py          train(): tf.data in, train steps, the run directory out;
                     signals, resume
    history.py       history.csv and TensorBoard
    monitor.py       non-finite values stop the run; collapses are flagged
    periodic_eval.py quality during training; the best checkpoint kept
"""

from keras_dcgan.training.loop import train

__all__ = ["train"]
