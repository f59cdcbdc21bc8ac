"""The verdicts of the quality benchmarks (docs/QUALITY.md): a difference
counts only where both feature spaces put the seed ranges apart; an option
is judged at the same epoch and at the default's epoch of equal compute."""

import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
sys.path.insert(0, ROOT)

from benchmarks.quality_options import compare, equal_compute_epoch  # noqa: E402
from benchmarks.quality_two_spaces import summarize  # noqa: E402


def rows(arm, epoch, fids):
    """Score rows of `arm` at `epoch`: {space: FIDs, one a seed}."""
    out = []
    for space, values in fids.items():
        for seed, fid in enumerate(values):
            out.append(
                dict(recipe=arm, sampling="moving", seed=seed, epoch=epoch)
                | dict(space=space, train_seconds=0.0, fid=fid, kid=fid / 10)
                | dict(precision=0.5, recall=0.7)
            )
    return out


DEFAULT = rows("default", 10, {"cnn": [30, 31, 32], "mlp": [27, 28, 29]}) + rows(
    "default", 20, {"cnn": [24, 25, 26], "mlp": [24, 25, 26]}
)


def verdicts_of(found, basis):
    return {v["metric"]: v for v in found if v["basis"] == basis}


def test_an_option_apart_in_both_spaces_is_better_per_step_and_tied_per_compute():
    option = rows("opt", 10, {"cnn": [18, 19, 20], "mlp": [22, 23, 23.5]})
    found = compare(summarize(DEFAULT + option), {"default": 1.0, "opt": 2.0})
    steps, compute = verdicts_of(found, "steps"), verdicts_of(found, "compute")
    assert steps["fid"]["default_epoch"] == 10
    assert steps["fid"]["counts"] == "better"
    assert steps["recall"]["counts"] == "tie"  # equal recall
    # Its 10 epochs at twice the cost meet the default's 20 (24..26 in both
    # spaces): still apart in both.
    assert compute["fid"]["default_epoch"] == 20
    assert compute["fid"]["cnn"] == "better"
    assert compute["fid"]["mlp"] == "better"
    assert compute["fid"]["counts"] == "better"


def test_a_difference_in_one_space_only_is_a_tie():
    option = rows("opt", 10, {"cnn": [18, 19, 20], "mlp": [26, 28, 30]})
    found = compare(summarize(DEFAULT + option), {"default": 1.0, "opt": 1.0})
    fid = verdicts_of(found, "steps")["fid"]
    assert (fid["cnn"], fid["mlp"], fid["counts"]) == ("better", "tie", "tie")
    assert verdicts_of(found, "compute")["fid"]["counts"] == "tie"


def test_without_a_default_at_equal_compute_there_is_no_such_verdict():
    option = rows("opt", 10, {"cnn": [18, 19, 20], "mlp": [22, 23, 23]})
    found = compare(summarize(DEFAULT + option), {"default": 1.0, "opt": 3.0})
    assert {v["basis"] for v in found} == {"steps"}
    # Costs not timed yet (a partial report): equal steps only.
    found = compare(summarize(DEFAULT + option), {})
    assert {v["basis"] for v in found} == {"steps"}


@pytest.mark.parametrize(
    "epoch, cost, expected",
    [(10, 2.0, 20), (10, 1.97, 20), (15, 1.97, 30), (10, 1.0, 10), (10, 1.5, None)],
)
def test_the_default_epoch_of_equal_compute(epoch, cost, expected):
    assert equal_compute_epoch(epoch, cost, [10, 20, 30]) == expected
