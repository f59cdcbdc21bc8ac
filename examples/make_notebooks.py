"""Makes examples/notebooks/*.ipynb from the keras-io style examples/*.py.

The `.py` files are the one source. Their title block (`Title:`,
`Author:`, ...) becomes the notebook's heading, each top-level `\"\"\"`
block a markdown cell, and the code between blocks a code cell, as
keras-io's own converter does. Two cells are added: after the heading, one
that installs the requirements where one is missing (from a checkout:
`requirements.txt`); and the code cell after "## Settings" is tagged
`parameters`, papermill's convention (`papermill mnist.ipynb out.ipynb -p
EPOCHS 1`). Run it after editing an example:

    python examples/make_notebooks.py           # rewrite the notebooks
    python examples/make_notebooks.py --check   # exit 1 if one is stale

(`nbformat` is in the `test` extra: `pip install -e ".[test]"`.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.join(HERE, "notebooks")
EXAMPLES = ("mnist.py", "celeba.py", "frozen_discriminator_traps.py")
HEADER_FIELDS = (
    "Author",
    "Date created",
    "Last modified",
    "Description",
    "Accelerator",
)
# Colab has everything the examples import; elsewhere, from a checkout (the
# notebooks live in examples/notebooks/), the project's requirements.
INSTALL_CELL = """\
# Installs what these examples import, only where something is missing.
import importlib.util
import os

needed = ("keras", "tensorflow", "numpy", "PIL", "matplotlib", "sklearn")
if any(importlib.util.find_spec(name) is None for name in needed):
    requirements = os.path.join("..", "..", "requirements.txt")
    if os.path.isfile(requirements):  # a checkout of the project
        %pip install -q -r {requirements}
    else:
        %pip install -q keras tensorflow numpy pillow matplotlib scikit-learn"""


def split_blocks(source: str) -> list:
    """Splits a keras-io example into ("markdown" | "code", text) blocks.

    A line that is exactly three double quotes opens or closes a markdown
    block; everything else between blocks is code. Blank blocks are
    dropped.
    """
    blocks, lines, markdown = [], [], False
    for line in source.splitlines() + ['"""']:
        if line.rstrip() != '"""':
            lines.append(line)
            continue
        text = "\n".join(lines).strip("\n")
        if text.strip():
            blocks.append(("markdown" if markdown else "code", text))
        lines, markdown = [], not markdown
    return blocks


def header_markdown(text: str) -> str:
    """`Title: ...` / `Author: ...` lines -> a heading and bold fields, as
    on keras.io."""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    rows = [f"**{k}:** {fields[k]}" for k in HEADER_FIELDS if k in fields]
    return f"# {fields.get('Title', 'Example')}\n\n" + "<br>\n".join(rows)


def to_notebook(path: str) -> nbformat.NotebookNode:
    """The notebook form of one example file."""
    with open(path) as f:
        blocks = split_blocks(f.read())
    if not blocks or blocks[0][0] != "markdown":
        raise ValueError(f"{path}: no keras-io title block at the top.")
    cells = [
        nbformat.v4.new_markdown_cell(header_markdown(blocks[0][1])),
        nbformat.v4.new_code_cell(INSTALL_CELL),
    ]
    settings_heading = False
    for kind, text in blocks[1:]:
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cells.append(nbformat.v4.new_code_cell(text))
            if settings_heading:  # papermill injects its values after it
                cells[-1].metadata["tags"] = ["parameters"]
        settings_heading = kind == "markdown" and text.startswith("## Settings")
    if not any("parameters" in c.metadata.get("tags", []) for c in cells):
        raise ValueError(f"{path}: no code block after a '## Settings' block.")
    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating changes nothing
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata.update(
        {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            },
            "language_info": {"name": "python"},
        }
    )
    return notebook


def write_atomically(path: str, text: str) -> None:
    """A new temporary file beside `path`, renamed over it: an interrupted
    run never leaves half a notebook."""
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def notebook_path(example: str) -> str:
    return os.path.join(NOTEBOOKS, example.replace(".py", ".ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report notebooks that differ from their .py",
    )
    args = parser.parse_args(argv)
    stale = []
    for example in EXAMPLES:
        text = nbformat.writes(to_notebook(os.path.join(HERE, example))) + "\n"
        target = notebook_path(example)
        current = None
        if os.path.exists(target):
            with open(target) as f:
                current = f.read()
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            os.makedirs(NOTEBOOKS, exist_ok=True)
            write_atomically(target, text)
            print(f"wrote {target}")
    if args.check and stale:
        print(
            "stale notebooks (run python examples/make_notebooks.py): "
            + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
