"""The report in plain text (first drift per variant, then per-step maxima)
and the machine it was measured on."""

from __future__ import annotations

import os
import platform

from .compare import SCALARS, first_scalar_drift


def summary_lines(report: dict, checkpoints=(1, 2, 3, 5, 10, 20, 50, 100, 200)):
    """Plain-text summary: first drift per variant, then per-step maxima.

    Args:
        report: What `lockstep.run_parity` returned.
        checkpoints: Steps whose maxima are shown (those within the run,
            and always the last step).

    Returns:
        The lines, without newlines.
    """
    steps = report["steps"]
    marks = [s for s in checkpoints if s <= steps]
    if steps not in marks:
        marks.append(steps)
    lines = [
        f"{report['library']} vs PyTorch, {steps} steps, tolerance "
        f"{report['tolerance']:g} relative, {report['config']}, {report['data']}",
        "",
        "variant | port G(z), D(x) | first scalar beyond tolerance "
        "| first quantity beyond tolerance",
    ]
    entries = dict(report["variants"])
    if "noise_floor" in report:
        entries["noise floor: torch float32 vs float64"] = report["noise_floor"]
    for name, entry in entries.items():
        lines.append(_drift_row(name, entry, report["tolerance"]))
    for name, entry in entries.items():
        lines += _maxima_rows(name, entry, marks)
    return lines


def _drift_row(name: str, entry: dict, tolerance: float) -> str:
    """One variant's row of the table: port, first scalar, first quantity."""
    drift = entry["first_drift"]
    port = entry.get("port")
    port = f"{port['G(z)']:.1e}, {port['D(x)']:.1e}" if port else "-"
    scalar = first_scalar_drift(entry, tolerance)
    scalar = "none" if scalar is None else f"step {scalar[0]}: {scalar[1]}"
    where = (
        "none"
        if drift is None
        else f"step {drift['step']}: {drift['quantity']} ({drift['relative']:.2e})"
    )
    return f"{name} | {port} | {scalar} | {where}"


def _maxima_rows(name: str, entry: dict, marks: list) -> list:
    """One variant's maxima per scalar and per state group at `marks`."""
    lines = [
        "",
        f"{name}: max relative difference at step " + ", ".join(map(str, marks)),
    ]
    for key in SCALARS:
        row = [entry["scalars"][key][s - 1] for s in marks]
        lines.append(f"  {key:32s} " + " ".join(f"{v:8.1e}" for v in row))
    groups = sorted({g for state in entry["state"].values() for g in state})
    for group in groups:
        row = []
        for s in marks:
            state = entry["state"].get(s)
            row.append(f"{state[group]:8.1e}" if state else "       -")
        lines.append(f"  {group:32s} " + " ".join(row))
    return lines


def machine() -> dict:
    """The CPU (model, count, the SIMD flags that matter) and the versions
    of both frameworks, for the report."""
    import tensorflow as tf
    import torch

    model, flags = platform.processor(), []
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = value.split()
            break
    wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "tensorflow": tf.__version__,
        "torch": torch.__version__,
    }
