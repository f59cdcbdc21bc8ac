"""The examples run as a user runs them: as scripts and as notebooks, pasted
alone into Colab, in keras-io's tutobook format."""

import ast
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import nbclient
import nbformat
import numpy as np
import pytest
from PIL import Image

from keras_dcgan import CompositeDCGAN
from keras_dcgan.config import DCGANConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
NAMES = ("mnist.py", "celeba.py", "frozen_discriminator_traps.py")
TINY_MODEL = ["--width", "8", "--latent-dim", "8"]
# What a reader has in Colab: the examples import these and the standard
# library only (scikit-learn: the traps script's offline digits).
ALLOWED_IMPORTS = {"keras", "tensorflow", "numpy", "matplotlib", "PIL", "IPython"}
ALLOWED_IMPORTS |= {"sklearn"}
# (image size, channels) of each example's networks.
SHAPES = {
    "mnist.py": (28, 1),
    "celeba.py": (64, 3),
    "frozen_discriminator_traps.py": (28, 1),
}


def run_example(name, *args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def make_notebooks():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", os.path.join(EXAMPLES, "make_notebooks.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_of(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


def settings_of(name):
    """The example's settings: its `NAME = literal` lines before any import."""
    settings = {}
    for node in ast.parse(source_of(name)).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return settings
        if isinstance(node, ast.Assign) and node.targets[0].id.isupper():
            settings[node.targets[0].id] = ast.literal_eval(node.value)
    return settings


def functions_of(name, *wanted, **namespace):
    """The example's top-level functions and constants `wanted`, compiled
    from its source alone (running the file would train), with `namespace`
    as globals."""
    tree = ast.parse(source_of(name))
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    defs += [
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    ]
    found = {getattr(n, "name", None) or n.targets[0].id for n in defs}
    assert set(wanted) <= found, f"{name} defines no {set(wanted) - found}"
    module = ast.Module(
        body=[
            n for n in defs if (getattr(n, "name", None) or n.targets[0].id) in wanted
        ],
        type_ignores=[],
    )
    exec(compile(module, name, "exec"), namespace)
    return [namespace[w] for w in wanted]


@pytest.fixture
def celeba_folder(tmp_path):
    """40 JPEGs of 178x218 (CelebA's aligned size) in its layout."""
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(40):
        pixels = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i + 1:06d}.jpg")
    return str(tmp_path / "celeba")


def tiny_settings(name, out, npz_file, celeba_folder):
    """Settings that run each example in seconds, by setting name."""
    common = {"OUTPUT_DIR": str(out), "WIDTH": 8, "LATENT_DIM": 8}
    return {
        "mnist.py": {"DATA": npz_file, "EPOCHS": 1, "BATCH_SIZE": 16},
        "celeba.py": {
            "DATA": celeba_folder,
            "EPOCHS": 1,
            "STEPS_PER_EPOCH": 2,
            "BATCH_SIZE": 8,
        },
        "frozen_discriminator_traps.py": {"STEPS": 3, "BATCH_SIZE": 16},
    }[name] | common


def as_flags(settings):
    return [
        a
        for name, value in settings.items()
        for a in ("--" + name.lower().replace("_", "-"), str(value))
    ]


def test_mnist_example_trains_both_networks_and_writes_grids(tmp_path, npz_file):
    out = tmp_path / "run"
    settings = tiny_settings("mnist.py", out, npz_file, None)
    result = run_example("mnist.py", *as_flags(settings))
    assert result.returncode == 0, result.stderr
    assert "D: 7 of 7 weights changed" in result.stdout
    assert "G: 8 of 8 weights changed" in result.stdout
    with Image.open(out / "epoch_0001.png") as grid:
        assert grid.size == (8 * 30 + 2, 8 * 30 + 2)  # 64 digits of 28 px
    assert os.listdir(out) == ["epoch_0001.png"]  # no temporary file left


def test_celeba_example_trains_on_a_folder_in_the_celeba_layout(
    tmp_path, celeba_folder
):
    out = tmp_path / "run"
    settings = tiny_settings("celeba.py", out, None, celeba_folder)
    result = run_example("celeba.py", *as_flags(settings))
    assert result.returncode == 0, result.stderr
    assert f"{celeba_folder}: 40 images" in result.stdout
    with Image.open(out / "epoch_0001.png") as grid:
        assert grid.mode == "RGB" and grid.size == (8 * 66 + 2, 8 * 66 + 2)
    assert os.listdir(out) == ["epoch_0001.png"]


@pytest.mark.parametrize(
    "name, args",
    [
        ("mnist.py", ["--data", "missing.npz"]),
        ("celeba.py", []),
        ("celeba.py", ["--data", "empty"]),
        ("celeba.py", ["--data", "missing"]),
        ("frozen_discriminator_traps.py", ["--data", "missing.npz"]),
    ],
)
def test_examples_offline_fail_fast_saying_how_to_supply_data(tmp_path, name, args):
    (tmp_path / "empty").mkdir()
    args = [str(tmp_path / a) if i else a for i, a in enumerate(args)]
    result = run_example(name, *args, "--output-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "--data" in result.stderr and "Traceback" not in result.stderr
    # One line (after TensorFlow's start-up noise, where it was imported).
    assert result.stderr.splitlines()[-1].startswith(f"{name}: error: ")
    assert "DATA" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "run").exists()


def write_bad_npz(path, case):
    if case == "a folder":
        path.mkdir()
    elif case == "a FIFO":
        os.mkfifo(path)
    elif case == "not a zip":
        path.write_text("hello")
    elif case == "a damaged zip":
        path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    elif case == "no arrays":
        np.savez(path)
    elif case == "32x32 images":
        np.savez(path, x=np.zeros((20, 32, 32), np.uint8))
    elif case == "float images":
        np.savez(path, x=np.zeros((20, 28, 28), np.float32))
    elif case == "RGB images":
        np.savez(path, x=np.zeros((20, 28, 28, 3), np.uint8))
    elif case == "one pixel per image":
        np.savez(path, x=np.zeros((20,), np.uint8))
    elif case == "an object array":
        np.savez(path, x=np.array([None, 1], dtype=object))


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "a folder",
        "a FIFO",
        "not a zip",
        "a damaged zip",
        "no arrays",
        "32x32 images",
        "float images",
        "RGB images",
        "one pixel per image",
        "an object array",
    ],
)
@pytest.mark.parametrize("name", ["mnist.py", "frozen_discriminator_traps.py"])
def test_bad_data_files_are_refused_in_one_line(tmp_path, capsys, name, case):
    """Every kind of bad `.npz` (the examples' own loader, compiled from the
    file, in-process): one line naming DATA and the fix, exit status 2,
    never a traceback or a hang."""
    import tensorflow as tf

    path = tmp_path / "data.npz"
    write_bad_npz(path, case)
    fail, load_digits = functions_of(
        name, "fail", "load_digits", np=np, os=os, sys=sys, keras=keras, tf=tf
    )

    def hang(*_):
        raise TimeoutError(f"{case}: the loader hung")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    try:
        with pytest.raises(SystemExit) as stop:
            load_digits(str(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert stop.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{name}: error: DATA (--data) {path}")
    assert "28x28" in lines[0]


def test_traps_script_shows_both_traps_and_the_fix(tmp_path):
    out = tmp_path / "traps"
    settings = tiny_settings("frozen_discriminator_traps.py", out, None, None)
    result = run_example("frozen_discriminator_traps.py", *as_flags(settings))
    assert result.returncode == 0, result.stderr
    with open(out / "traps.json") as f:
        classic, layers, variables = json.load(f)["results"].values()
    # Trap 1: the Keras 2 order leaves D bit-identical, with Keras' warning.
    assert classic["d_weights"] > 0 and classic["d_changed"] == 0
    assert "The model does not have any trainable weights." in (classic["warnings"])
    # Trap 2: with frozen layers, G's step sees D on moving statistics.
    assert layers["g_step_minus_batch"] > 1e-4
    # The fix: every weight of D and G learns; D stays still in G's steps.
    assert variables["d_changed"] == variables["d_weights"]
    assert variables["g_changed"] == variables["g_weights"]
    assert variables["d_moved_in_g_step"] == 0
    assert variables["g_step_minus_batch"] < 1e-5  # G sees D as D trains
    assert (out / "traps.png").is_file()
    assert "does not have any trainable weights" in result.stdout
    # 3 steps leave the three pictures the same noise: the verdicts say so,
    # and no picture claim is printed as shown.
    with open(out / "traps.json") as f:
        report = json.load(f)
    picture = [k for k in report["verdicts"] if k.startswith("picture")]
    assert picture and not any(report["verdicts"][k] for k in picture)
    for claim in picture:
        assert f"NOT SHOWN  {claim}" in result.stdout
    assert "3 steps are too few" in report["picture"]
    assert report["picture"] in result.stdout


# keras-io's tutobook format (scripts/tutobook.py and its validation): the
# module docstring is the header, these fields, one line each, in order.
TUTOBOOK_FIELDS = (
    "Title",
    "Author",
    "Date created",
    "Last modified",
    "Description",
    "Accelerator",
)


@pytest.mark.parametrize("name", NAMES)
def test_headers_and_sections_follow_the_tutobook_rules(name):
    source = source_of(name)
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    assert source.startswith('"""\n') and docstring is not None
    header = docstring.strip("\n").split("\n")
    assert [line.split(":")[0] for line in header] == list(TUTOBOOK_FIELDS), (
        f"{name}: the header must be exactly these lines, one each: {TUTOBOOK_FIELDS}"
    )
    fields = dict(line.split(": ", 1) for line in header)
    assert all(v.strip() == v and v for v in fields.values()), fields
    for date in ("Date created", "Last modified"):
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", fields[date]), fields[date]
    description = [line for line in header if line.startswith("Description:")][0]
    assert description.endswith(".") and len(description) < 100, description
    assert fields["Accelerator"] in ("GPU", "None")
    # Sections: top-level string blocks whose quotes stand on lines of their
    # own; headings are "## " or deeper, never the page title's "# ".
    lines = source.split("\n")
    blocks = [
        n
        for n in tree.body
        if isinstance(n, ast.Expr)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
    ]
    for node in blocks:
        assert lines[node.lineno - 1] == '"""', f"{name}:{node.lineno}"
        assert lines[node.end_lineno - 1] == '"""', f"{name}:{node.end_lineno}"
    headings = [
        line
        for n in blocks[1:]
        for line in n.value.value.split("\n")
        if line[:1] == "#"
    ]
    assert headings and all(re.match("#{2,4} ", h) for h in headings), headings
    assert "## Introduction" in headings and "## Settings" in headings


@pytest.mark.parametrize("name", NAMES)
def test_examples_import_nothing_a_colab_reader_lacks(name):
    """Each file pasted alone into Colab runs: no keras_dcgan, nothing
    beyond Keras, TensorFlow, NumPy, Matplotlib, Pillow (and IPython)."""
    imported = set()
    for node in ast.walk(ast.parse(source_of(name))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    foreign = imported - ALLOWED_IMPORTS - set(sys.stdlib_module_names)
    assert not foreign, f"{name} imports {sorted(foreign)}"
    if name != "frozen_discriminator_traps.py":
        assert "sklearn" not in imported


def library_networks(name, latent_dim, width):
    size, channels = SHAPES[name]
    config = DCGANConfig(
        image_size=size,
        channels=channels,
        latent_dim=latent_dim,
        generator_width=width,
        discriminator_width=width,
        precision="float32",
    )
    # As the composite trains them: G runs twice a step, so the composite
    # sets its BatchNorm momentum per run (`set_momentum_per_call`).
    gan = CompositeDCGAN(config)
    return gan.generator, gan.discriminator


def without_name(config):
    return {k: v for k, v in config.items() if k != "name"}


@pytest.mark.parametrize("name", NAMES)
def test_example_networks_are_the_librarys_layer_for_layer(name):
    """The networks written out in each example are keras_dcgan's
    networks as its composite trains them: the same layer classes and
    configs (filters, kernels, strides, padding, biases, activations,
    initialisers, BatchNorm momentum and epsilon), output shapes and
    parameter counts, at the example's settings; G's BatchNorm momentum is
    the composite's, set for G's two runs a step."""
    settings = settings_of(name)
    latent_dim, width = settings["LATENT_DIM"], settings["WIDTH"]
    make_generator, make_discriminator = functions_of(
        name,
        "G_MOMENTUM",
        "normal",
        "batch_norm",
        "make_generator",
        "make_discriminator",
        keras=keras,
        layers=keras.layers,
    )[3:]
    ours = (make_generator(latent_dim, width), make_discriminator(width))
    theirs = library_networks(name, latent_dim, width)
    for our_model, their_model in zip(ours, theirs):
        assert isinstance(our_model, keras.Sequential)
        assert our_model.input_shape == their_model.input_shape
        assert len(our_model.layers) == len(their_model.layers)
        for a, b in zip(our_model.layers, their_model.layers):
            assert type(a) is type(b), (a, b)
            assert without_name(a.get_config()) == without_name(b.get_config())
            assert a.output.shape == b.output.shape, (a, b)
            assert a.count_params() == b.count_params(), (a, b)
        assert our_model.count_params() == their_model.count_params()


@pytest.mark.parametrize(
    "args, code, named",
    [
        (["--help"], 0, "--output-dir"),
        (["--epohcs", "1"], 2, "--epohcs"),
        (["--width", "x"], 2, "--width"),
        (["--width", "0"], 2, "WIDTH = 0"),
        (["--seed", "-1"], 2, "SEED = -1"),
        (["--batch-size", "100000"], 2, "BATCH_SIZE = 100000"),
        (["--output-dir", ""], 2, "OUTPUT_DIR"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_settings_answer_before_tensorflow_is_imported(name, args, code, named):
    """`--help` and bad flags answer in a fraction of a second: the command
    line is read before TensorFlow is imported (python -X importtime lists
    every module imported), and a bad one is one line with exit status 2."""
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", os.path.join(EXAMPLES, name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert result.returncode == code, result.stderr[-2000:]
    imports = [x for x in result.stderr.splitlines() if x.startswith("import time:")]
    modules = {x.rsplit("|", 1)[-1].strip().split(".")[0] for x in imports}
    assert "tensorflow" not in modules and "keras" not in modules
    assert elapsed < 10, elapsed  # TensorFlow alone takes longer to import
    if code:
        errors = [x for x in result.stderr.splitlines() if x not in imports]
        assert len(errors) == 1, errors
        assert errors[0].startswith(f"{name}: error: ") and named in errors[0]
    else:
        assert named in result.stdout


def test_committed_notebooks_match_their_scripts():
    assert make_notebooks().main(["--check"]) == 0, (
        "run python examples/make_notebooks.py"
    )


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_have_a_parameters_cell_and_an_install_cell(name):
    notebook = make_notebooks().to_notebook(os.path.join(EXAMPLES, name))
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assigned = {
        node.targets[0].id for node in ast.parse(tagged[0].source).body
    }  # papermill overrides what this cell assigns
    assert assigned == set(settings_of(name))
    install = notebook.cells[1]
    assert install.cell_type == "code" and "%pip install" in install.source
    assert "requirements.txt" in install.source and "OWNER" not in install.source


def parameterised(name, injected):
    """The example's notebook with `injected` after its parameters cell, as
    papermill injects values (or a reader adds a cell)."""
    notebook = make_notebooks().to_notebook(os.path.join(EXAMPLES, name))
    at = next(
        i
        for i, c in enumerate(notebook.cells)
        if "parameters" in c.metadata.get("tags", [])
    )
    cell = nbformat.v4.new_code_cell(injected)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(at + 1, cell)
    return notebook


def execute(notebook, folder):
    nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    ).execute()


@pytest.mark.parametrize(
    "name, injected",
    [
        ("mnist.py", "EPOHCS = 1"),
        ("celeba.py", "STEPS_PER_EPOHC = 1"),
        ("frozen_discriminator_traps.py", "STEP = 10"),
        ("mnist.py", "import sys\nsys.argv = ['mnist.py', '--epohcs', '1']"),
        ("mnist.py", "EPOCHS = '1'"),
    ],
)
def test_a_notebook_refuses_a_parameter_it_does_not_know(tmp_path, name, injected):
    notebook = parameterised(name, injected)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        execute(notebook, tmp_path)
    errors = "".join(
        o.get("text", "")
        for c in notebook.cells
        for o in c.get("outputs", [])
        if o.get("name") == "stderr"
    )
    assert f"{name}: error: " in errors
    wrong = re.search(r"([A-Z_]+ =|--epohcs)", injected).group(1)
    assert wrong.split(" =")[0] in errors, errors
    assert not any(tmp_path.iterdir())  # nothing written, nothing trained


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_execute(tmp_path, npz_file, celeba_folder, name):
    out = tmp_path / "run"
    settings = tiny_settings(name, out, npz_file, celeba_folder)
    injected = "\n".join(f"{k} = {v!r}" for k, v in settings.items())
    notebook = parameterised(name, injected)
    execute(notebook, tmp_path)
    written = sorted(os.listdir(out))
    assert written == (
        ["traps.json", "traps.png"] if "traps" in name else ["epoch_0001.png"]
    )
