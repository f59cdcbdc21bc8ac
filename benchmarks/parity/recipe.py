"""The PyTorch step's switches: one per difference between the library's
recipe and pytorch/examples', and the named variants a run compares."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TorchRecipe:
    """The PyTorch step, with each way it can differ from the library's.

    Attributes:
        adam: "keras": Keras 3's Adam (epsilon 1e-7 added to sqrt(v) before
            the bias correction of v, i.e. the paper's epsilon-hat);
            "torch": torch.optim.Adam(eps=1e-8) (after the correction);
            "torch-eps1e-7": torch.optim.Adam(eps=1e-7).
        d_update: "two_steps": one Adam step on the real batch's loss, then
            one on the fake batch's (two `train_on_batch` calls, the fake
            loss computed after the real step); "summed": one Adam step on
            the sum of both gradients, both losses from the same D.
        g_forward: "twice": G's step runs G again on the same z (the
            library's `make_fakes`, then the combined model), each run
            moving G's BatchNorm moving statistics at the library's
            per-run momentum, 0.9 ** 0.5 in Keras' convention; "once":
            G's step reuses D's fakes, one update at 0.9 (the reference).
        running_var: "biased": BatchNorm's moving variance averages the
            batch variance over N (Keras); "unbiased": over N - 1 (PyTorch).
        loss: "logits": BCE from D's pre-sigmoid output (what Keras' traced
            `binary_crossentropy` computes after a sigmoid); "probabilities":
            `nn.BCELoss` on D's sigmoid output, log clamped at -100.
        bn_epsilon: BatchNorm's epsilon (both default to 1e-5 here; Keras'
            own default is 1e-3).
        dtype: "float32", or "float64": the same recipe computed nearly
            exactly, against which float32's own rounding is measured.
    """

    adam: str = "keras"
    d_update: str = "two_steps"
    g_forward: str = "twice"
    running_var: str = "biased"
    loss: str = "logits"
    bn_epsilon: float = 1e-5
    dtype: str = "float32"


LIBRARY = TorchRecipe()
REFERENCE = TorchRecipe(
    adam="torch",
    d_update="summed",
    g_forward="once",
    running_var="unbiased",
    loss="probabilities",
)
# float32 PyTorch against float64 PyTorch, same recipe: float32's own
# rounding, the floor under any float32 comparison.
NOISE_FLOOR = ("library", "library-float64")
# One deviation at a time, each set to the reference's side, and two
# controls: Adam's epsilon alone, and Keras' default BatchNorm epsilon.
VARIANTS = {
    "library": LIBRARY,
    "library-float64": dataclasses.replace(LIBRARY, dtype="float64"),
    "adam=torch": dataclasses.replace(LIBRARY, adam="torch"),
    "adam=torch-eps1e-7": dataclasses.replace(LIBRARY, adam="torch-eps1e-7"),
    "d_update=summed": dataclasses.replace(LIBRARY, d_update="summed"),
    "g_forward=once": dataclasses.replace(LIBRARY, g_forward="once"),
    "running_var=unbiased": dataclasses.replace(LIBRARY, running_var="unbiased"),
    "loss=probabilities": dataclasses.replace(LIBRARY, loss="probabilities"),
    "bn_epsilon=1e-3": dataclasses.replace(LIBRARY, bn_epsilon=1e-3),
    "reference": REFERENCE,
}
