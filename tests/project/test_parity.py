"""Step-for-step parity with the PyTorch reference, tiny form of
`python -m benchmarks.parity` (docs/PARITY.md): the library's real train
step against the pytorch/examples step on ported weights, same batches,
same z."""

import os
import sys

import pytest

pytest.importorskip("torch")

from helpers import deterministic_ops  # noqa: E402

from keras_dcgan.config import DCGANConfig  # noqa: E402

# The repository root: the harness is the package `benchmarks.parity`.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
from benchmarks.parity import compare, lockstep, recipe  # noqa: E402

STEPS = 6
TOLERANCE = 1e-4
CONFIG = DCGANConfig(
    image_size=28,
    channels=1,
    latent_dim=8,
    generator_width=8,
    discriminator_width=8,
    batch_size=8,
    seed=0,
)
# Each difference between the recipes, set to pytorch/examples' side alone,
# and where its effect must show first (None: anywhere).
DEVIATIONS = {
    "adam=torch": None,
    "d_update=summed": None,
    "running_var=unbiased": "G BatchNorm moving stats",
    "bn_epsilon=1e-3": None,
    "reference": None,
}


def run(library, names, steps=STEPS):
    variants = {name: recipe.VARIANTS[name] for name in names}
    with deterministic_ops():
        return lockstep.run_parity(
            CONFIG, steps, variants, library=library, tolerance=TOLERANCE
        )


@pytest.fixture(scope="module")
def composite_report():
    return run("composite", ["library", "g_forward=once", *DEVIATIONS])


@pytest.mark.parametrize("library", ["composite", "dcgan"])
def test_library_recipe_agrees_step_for_step(library, composite_report):
    """With every difference emulated on the torch side, each step's losses,
    D(x), D(G(z)), every weight, Adam slot and BatchNorm moving statistic
    agree to 1e-4 relative, at every step (the production class too)."""
    report = composite_report if library == "composite" else run(library, ["library"])
    entry = report["variants"]["library"]
    assert entry["first_drift"] is None, entry["first_drift"]
    assert len(entry["state"]) == STEPS  # the full state, every step
    final = entry["final_tensors"]
    # Every weight, both slots of every trainable one, every moving statistic.
    assert any(name.endswith("/m") for name in final)
    assert any(name.endswith("/moving_variance") for name in final)
    assert max(final.values()) <= TOLERANCE


@pytest.mark.parametrize("name", ["library", "reference"])
def test_port_and_first_step_agree(composite_report, name):
    """After the port, G(z) and D(x) agree; in the first step D's loss on
    the real batch and D(x) agree whatever the recipe (nothing has been
    updated yet)."""
    entry = composite_report["variants"][name]
    assert entry["port"]["G(z)"] < 1e-5
    assert entry["port"]["D(x)"] < 1e-5
    for key in ("d_loss_real", "d_of_real"):
        assert entry["scalars"][key][0] < 1e-5, key


def test_library_first_step_scalars_agree(composite_report):
    scalars = composite_report["variants"]["library"]["scalars"]
    for key in compare.SCALARS:
        assert scalars[key][0] < 1e-5, key


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_each_deviation_is_detected(composite_report, name):
    """The harness can fail: each difference, on alone, is named in the
    first step, in the part of the state it changes."""
    drift = composite_report["variants"][name]["first_drift"]
    assert drift is not None and drift["step"] == 1, drift
    where = DEVIATIONS[name]
    if where is not None:
        groups = composite_report["variants"][name]["state"][1]
        assert groups[where] > TOLERANCE
        assert compare.group_of(drift["quantity"]) == where


def test_gs_moving_statistics_move_once_a_step(composite_report):
    """G runs twice a step, at the square root of BatchNorm's momentum each
    time: its moving statistics equal those of one run at 0.9 a step (the
    reference's), to float32 rounding."""
    entry = composite_report["variants"]["g_forward=once"]
    assert entry["first_drift"] is None, entry["first_drift"]
    assert max(entry["final_tensors"].values()) <= TOLERANCE


@pytest.mark.parametrize("library", ["composite", "dcgan"])
def test_the_summed_update_is_the_references_d_step(library):
    """With `discriminator_update="summed"` the library's D step is
    pytorch/examples' (one Adam step on both batches' gradients): it agrees
    with the PyTorch step switched to it, and no longer with the two-step
    recipe, where D's fake loss drifts first."""
    import dataclasses

    summed = dataclasses.replace(CONFIG, discriminator_update="summed")
    variants = {n: recipe.VARIANTS[n] for n in ("d_update=summed", "library")}
    with deterministic_ops():
        report = lockstep.run_parity(
            summed, STEPS, variants, library=library, tolerance=TOLERANCE
        )
    entry = report["variants"]["d_update=summed"]
    assert entry["first_drift"] is None, entry["first_drift"]
    assert max(entry["final_tensors"].values()) <= TOLERANCE
    assert report["variants"]["library"]["first_drift"] is not None
