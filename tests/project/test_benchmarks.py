"""The benchmarks are a package of scripts (docs/BENCHMARKS.md): each runs
from the repository root as `python -m benchmarks.NAME`, imports its
siblings as `benchmarks.X` (never by bare name, never by editing
`sys.path`), launches a sibling as `python -m benchmarks.X`, and calls the
library's public names only."""

import ast
import importlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
BENCHMARKS = os.path.join(ROOT, "benchmarks")


def _modules() -> dict:
    """{dotted name: path} of every module below benchmarks/."""
    found = {}
    for folder, _, files in os.walk(BENCHMARKS):
        for name in files:
            if name.endswith(".py") and name != "__init__.py":
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[: -len(".py")]
                found[dotted.replace(os.sep, ".")] = path
    return dict(sorted(found.items()))


MODULES = _modules()
# Names a bare import of a sibling would use: quality_torch, compare, ...
SIBLINGS = {name.rsplit(".", 1)[-1] for name in MODULES} | {"parity"}


def _tree(path: str) -> ast.Module:
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


@pytest.mark.parametrize("name", MODULES)
def test_a_benchmark_imports_as_a_module_of_the_package(name, monkeypatch):
    # With the repository root on the path and nothing else: as
    # `python -m benchmarks.NAME` from the root sees it.
    monkeypatch.setattr(sys, "path", [ROOT] + [p for p in sys.path if p != ""])
    for loaded in [m for m in sys.modules if m in SIBLINGS]:
        monkeypatch.delitem(sys.modules, loaded)
    importlib.import_module(name)
    assert not SIBLINGS & set(sys.modules), "a sibling imported by bare name"


@pytest.mark.parametrize("name", MODULES)
def test_a_benchmark_names_its_siblings_through_the_package(name):
    tree = _tree(MODULES[name])
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.split(".")[0] in SIBLINGS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module.split(".")[0] in SIBLINGS:
                bad.append(node.module)
        elif isinstance(node, ast.Attribute) and node.attr == "path":
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                bad.append("sys.path")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A sibling launched as a file: "quality_torch.py".
            if node.value.endswith(".py") and node.value[:-3] in SIBLINGS:
                bad.append(node.value)
    assert not bad, f"{name}: {bad}"


@pytest.mark.parametrize("name", MODULES)
def test_a_benchmark_uses_the_librarys_public_names_only(name):
    tree = _tree(MODULES[name])
    library = set()  # names bound to keras_dcgan modules or objects
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "keras_dcgan":
                    library.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module.split(".")[0] == "keras_dcgan":
                for alias in node.names:
                    library.add(alias.asname or alias.name)
                    if alias.name.startswith("_"):
                        bad.append(f"{node.module}.{alias.name}")
                if any(part.startswith("_") for part in node.module.split(".")):
                    bad.append(node.module)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain, root = [node.attr], node.value
        while isinstance(root, ast.Attribute):
            chain.append(root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in library:
            private = [a for a in chain if a.startswith("_") and not a.endswith("__")]
            if private:
                bad.append(f"{root.id}...{private[0]}")
    assert not bad, f"{name}: {bad}"


def test_the_pytorch_reference_runs_as_a_module_from_the_root():
    # quality_mnist and quality_two_spaces launch it so (`train_reference`).
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.quality_torch", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--epochs" in out.stdout
