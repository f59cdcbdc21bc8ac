"""Comparing the two sides: the relative difference of a value or tensor,
the full state of each side by tensor name, and a report entry per variant
that names the first quantity to drift beyond the tolerance."""

from __future__ import annotations

import dataclasses

import numpy as np

from .port import Pair
from .reference import TorchSide

TOLERANCE = 1e-4
# The step's scalars, in the order the step computes them.
SCALARS = ("d_loss_real", "d_of_real", "d_loss_fake", "g_loss", "d_of_fake")


def relative(a, b) -> float:
    """max |a - b| / max |b| (b the library's), elementwise over a tensor."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if b.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def keras_slots(gan, pair: Pair):
    """(m, v) of a Keras weight in its model's Adam."""
    model = gan.discriminator if pair.optimizer == "D" else gan.combined
    optimizer = model.optimizer
    index = optimizer._get_variable_index(pair.keras)
    return optimizer._momentums[index], optimizer._velocities[index]


def library_state(gan, pairs: list) -> dict:
    """Every weight, Adam slot ("/m", "/v") and BatchNorm moving statistic
    of the library's models, by name, in torch's layout."""
    out = {}
    for pair in pairs:
        out[pair.name] = pair.keras_value()
        if pair.kind == "weight":
            m, v = keras_slots(gan, pair)
            out[f"{pair.name}/m"] = pair.keras_value(m)
            out[f"{pair.name}/v"] = pair.keras_value(v)
    return out


def torch_state(side: TorchSide, pairs: list) -> dict:
    """The same as `library_state`, of a PyTorch side."""
    out = {}
    for pair in pairs:
        out[pair.name] = pair.torch.detach().numpy()
        if pair.kind == "weight":
            optimizer = side.optD if pair.optimizer == "D" else side.optG
            slots = optimizer.state.get(pair.torch, {})
            for slot, key in (("m", "exp_avg"), ("v", "exp_avg_sq")):
                value = slots.get(key)
                out[f"{pair.name}/{slot}"] = (
                    np.zeros(pair.torch.shape) if value is None else value.numpy()
                )
    return out


def state_differences(state: dict, library: dict) -> dict:
    """`relative` difference of each tensor of `state` to `library`'s."""
    return {name: relative(state[name], value) for name, value in library.items()}


def group_of(name: str) -> str:
    """The group of a tensor name: G weights, D Adam v, G BatchNorm moving
    stats, ..."""
    parts = name.split("/")
    net = parts[0]
    if parts[2] in ("moving_mean", "moving_variance"):
        return f"{net} BatchNorm moving stats"
    if len(parts) == 4:
        return f"{net} Adam {parts[3]}"
    return f"{net} weights"


def forward_differences(side: TorchSide, real, z, library: tuple) -> dict:
    """G(z) and D(x) of both, batch statistics, right after the port (the
    check of the port itself; the moving statistics are not touched).

    Args:
        side: The PyTorch side, just ported.
        real: A real batch, NHWC.
        z: Latents.
        library: The library's (G(z), D(x)) (`library.forward_outputs`),
            computed once for all sides.
    """
    import torch

    saved = [(m, m.momentum) for m in side.G.modules() if hasattr(m, "momentum")]
    saved += [(m, m.momentum) for m in side.D.modules() if hasattr(m, "momentum")]
    for module, _ in saved:
        module.momentum = 0.0
    try:
        with torch.no_grad():
            side.G.train()
            side.D.train()
            z_t = torch.from_numpy(z).to(side.dtype)
            real_t = torch.from_numpy(real.transpose(0, 3, 1, 2).copy()).to(side.dtype)
            fake_t = side.G(z_t).numpy().transpose(0, 2, 3, 1)
            d_t = side.D(real_t).numpy()
    finally:
        for module, momentum in saved:
            module.momentum = momentum
    fake_k, d_k = library
    return {"G(z)": relative(fake_t, fake_k), "D(x)": relative(d_t[:, 0], d_k[:, 0])}


def sample_differences(side: TorchSide, z: np.ndarray, library: np.ndarray) -> dict:
    """Inference-mode samples (moving statistics, how both are sampled) of
    a torch side against the library's, in [-1, 1] and in uint8 levels."""
    import torch

    side.G.eval()
    with torch.no_grad():
        x = side.G(torch.from_numpy(z).to(side.dtype)).numpy().transpose(0, 2, 3, 1)
    side.G.train()
    diff = np.abs(x.astype(np.float64) - library)
    levels = np.abs(to_uint8_levels(x) - to_uint8_levels(library))
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "uint8_max": int(levels.max()),
        "uint8_mean": float(levels.mean()),
    }


def to_uint8_levels(images) -> np.ndarray:
    """As keras_dcgan.data.to_uint8 (and quality_torch.py) write samples."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.int64)


def new_entry(recipe) -> dict:
    """An empty report entry for one variant (`recipe`), or for the noise
    floor (None)."""
    return {
        "recipe": dataclasses.asdict(recipe) if recipe else None,
        "scalars": {k: [] for k in SCALARS},  # per step
        "state": {},  # step -> group -> max relative difference
        "first_drift": None,
    }


def record(entry, step, values, reference, state, reference_state, tolerance, steps):
    """Adds one step's differences to a report entry; notes the first
    quantity beyond `tolerance` (the largest, if several at once).

    Args:
        entry: The variant's entry (`new_entry`), updated in place.
        step: The step, from 1.
        values: This side's scalars of the step (`SCALARS`).
        reference: The scalars compared against (the library's).
        state: This side's full state (`torch_state`), or None on a step
            whose state is not compared.
        reference_state: The state compared against (`library_state`).
        tolerance: Relative difference above which a quantity has drifted.
        steps: The run's last step (its tensors are kept whole).
    """
    drifted = []
    entry.setdefault("values", []).append(values)
    for key in SCALARS:
        diff = relative(values[key], reference[key])
        entry["scalars"][key].append(diff)
        if diff > tolerance:
            drifted.append((key, diff))
    if state is not None:
        tensors = state_differences(state, reference_state)
        groups = {}
        for tensor, diff in tensors.items():
            group = group_of(tensor)
            groups[group] = max(groups.get(group, 0.0), diff)
        entry["state"][step] = groups
        worst = max(tensors.items(), key=lambda item: item[1])
        if worst[1] > tolerance:
            drifted.append(worst)
        if step == steps:
            entry["final_tensors"] = tensors
    if entry["first_drift"] is None and drifted:
        key, diff = max(drifted, key=lambda item: item[1])
        entry["first_drift"] = {"step": step, "quantity": key, "relative": diff}


def first_scalar_drift(entry: dict, tolerance: float):
    """(step, name) of the first of the step's scalars beyond `tolerance`."""
    for i in range(len(entry["scalars"][SCALARS[0]])):
        for key in SCALARS:
            if entry["scalars"][key][i] > tolerance:
                return i + 1, key
    return None
