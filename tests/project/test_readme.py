"""The README cannot rot: its Python blocks run, its commands parse, its
quoted lines are the file's, and it stays short enough to finish."""

import os
import re
import shlex

import helpers
import keras
import numpy as np
import pytest
from helpers import make_images

from keras_dcgan import DCGANConfig, build_discriminator, build_generator
from keras_dcgan.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(ROOT, "README.md")) as f:
    README = f.read()
with open(os.path.join(ROOT, "docs", "TRAINING.md")) as f:
    TRAINING = f.read()
QUOTE = re.compile(r"<!-- quoted from (\S+) -->\n```python\n(.*?)```", flags=re.S)
# Quoted excerpts are methods lifted from a module: they are checked
# against the module (test_quoted_lines_equal_the_file), not run.
PYTHON_BLOCKS = [
    block
    for text in (QUOTE.sub("", README), TRAINING)
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S)
]
# Tiny settings for the runs a block starts; the code is otherwise as shown.
TINY = (
    "steps=2, batch_size=16, latent_dim=8, generator_width=8, "
    "discriminator_width=8, num_samples=4"
)


def commands():
    """Every `keras-dcgan ...` command of the README's shell blocks, with
    its continuation lines joined and comments dropped."""
    found = []
    fences = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)
    for block in (text for lang, text in fences if lang in ("bash", "sh", "console")):
        text = re.sub(r"\\\n\s*", " ", block)
        for line in text.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("keras-dcgan "):
                found.append(shlex.split(line, comments=True)[1:])
    return found


def test_the_readme_has_blocks_to_check():
    assert len(PYTHON_BLOCKS) >= 2 and len(commands()) >= 10


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_every_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez("mnist.npz", x_train=make_images(64))  # what keras.datasets caches
    code = PYTHON_BLOCKS[index].replace("epochs=10", TINY)
    # What the lesson's snippets take as given: keras, and the two models.
    config = DCGANConfig(**helpers.TINY)
    namespace = {
        "__name__": f"readme_block_{index}",
        "keras": keras,
        "generator": build_generator(config),
        "discriminator": build_discriminator(config),
    }
    exec(compile(code, f"README.md python block {index}", "exec"), namespace)
    if "samples" in namespace:
        samples = np.asarray(namespace["samples"])
        assert samples.shape == (16, 28, 28, 1)
        assert np.abs(samples).max() <= 1.0


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_command_parses(argv):
    args = build_parser().parse_args(argv)
    assert args.command == argv[0]


def test_quoted_lines_equal_the_file():
    quotes = QUOTE.findall(README)
    assert quotes, "the README quotes the lesson module"
    for path, block in quotes:
        with open(os.path.join(ROOT, path)) as f:
            assert block in f.read(), f"the README's quote of {path} has drifted"


def test_the_readme_is_short_and_in_the_order_a_reader_needs():
    assert len(README.splitlines()) <= 250
    headings = re.findall(r"^## (.+)$", README, flags=re.M)
    order = [
        "Quickstart",
        "The lesson",
        "Training on real data",
        "Using a trained generator",
        "Measuring sample quality",
        "Python API",
        "Where to read on",
    ]
    assert [next(h for h in headings if h.startswith(o)) for o in order] == [
        h for h in headings if any(h.startswith(o) for o in order)
    ]
    positions = [README.index(f"## {o}") for o in order]
    assert positions == sorted(positions)
    assert "git clone" in README.split("## Quickstart")[1].split("## ")[0]


def test_every_local_link_resolves():
    for name, text in (("README.md", README), ("docs/TRAINING.md", TRAINING)):
        base = os.path.dirname(os.path.join(ROOT, name))
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert os.path.exists(os.path.join(base, target)), f"{name}: {target}"
