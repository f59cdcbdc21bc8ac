"""`DCGAN`, the lesson's composite ready for production, and what only it
uses.

model.py         `DCGAN`: devices, XLA, mixed precision, checkpoints; the
                 `diversity` signal
averaging.py     `GeneratorAverage`: the moving average of G's weights
                 (`config.ema`) that `DCGAN` updates after every step
"""

from keras_dcgan.dcgan.averaging import GeneratorAverage
from keras_dcgan.dcgan.model import DCGAN, diversity

__all__ = ["DCGAN", "GeneratorAverage", "diversity"]
