"""What a newcomer meets first: each log line once, no TensorFlow chatter,
mistakes about files answered before TensorFlow is imported, the PyTorch
flag names, the same default seed everywhere."""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import TINY, make_images, snapshot, tiny_flags

from keras_dcgan.cli.quiet import has_nvidia_device

LOG_TWICE = """
import sys
import numpy as np
import keras_dcgan

keras_dcgan.enable_logging()
keras_dcgan.enable_logging()  # a notebook cell run twice
config = keras_dcgan.DCGANConfig(
    steps=1, image_size=28, channels=1, latent_dim=8, generator_width=8,
    discriminator_width=8, batch_size=16, num_samples=4,
)
for i in range(2):
    keras_dcgan.train(config, np.zeros((32, 28, 28), "uint8"),
                      sys.argv[1] + str(i), verbose=2)
"""


def test_each_log_line_is_shown_once(tmp_path):
    # TensorFlow's checkpoint code logs through absl, which gives the root
    # logger a handler: the package's lines were printed by both.
    result = subprocess.run(
        [sys.executable, "-c", LOG_TWICE, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: PYTHONPATH says which package
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [
        line for line in result.stderr.splitlines() if "checkpoint" in line.lower()
    ]
    for i in range(2):
        saved = f"Saved checkpoint {tmp_path / 'run'}{i}/checkpoints/ckpt-1."
        assert sum(saved in line for line in lines) == 1, result.stderr[-2000:]
    assert not any(":keras_dcgan." in line for line in result.stderr.splitlines())
    for i in range(2):
        finished = [
            line
            for line in result.stderr.splitlines()
            if f"run in {tmp_path / 'run'}{i}." in line
        ]
        assert len(finished) == 1, result.stderr[-2000:]


def fake_run(root):
    """A run as a reader sees it before its first checkpoint: config.json
    and an index file of step 2 (the cheap checks read names only)."""
    from keras_dcgan.config import DCGANConfig

    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    DCGANConfig(**TINY).to_json(str(run / "config.json"))
    (run / "checkpoints" / "ckpt-2.index").write_bytes(b"")
    return run


@pytest.fixture
def inputs(tmp_path):
    run = fake_run(tmp_path)
    np.savez(tmp_path / "x.npz", x=make_images(32))
    np.save(tmp_path / "z.npy", np.zeros((4, 8), "float32"))
    (tmp_path / "garbage.keras").write_bytes(b"not a model")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    return {"root": tmp_path, "run": run}


# Each command once past its checks (TensorFlow imported): it ends with
# its work done or an error found only with TensorFlow, e.g. a run
# without a complete checkpoint.
PAST_THE_CHECKS = {
    "train": "train --data {root}/x.npz --output-dir {root}/new --dry-run "
    + " ".join(tiny_flags()),
    "sample": "sample {run} --output {root}/s.png",
    "export": "export {run} --output-dir {root}/exported",
    "interpolate": "interpolate {run} --output {root}/i.png",
    "arithmetic": "arithmetic {run} --latents {root}/z.npy --plus 0 "
    "--output {root}/a.png",
    "nearest": "nearest {run} --data {root}/x.npz --output {root}/n.png",
    "evaluate": "evaluate {run} --data {root}/x.npz "
    "--features classifier:{root}/garbage.keras",
    "train-classifier": "train-classifier --data {root}/x.npz --output {root}/c.keras",
}
TENSORFLOW_LINE = re.compile(
    r"^[IWEF]\d{4} |absl::|cuda|cuInit|oneDNN custom|TensorFlow binary|"
    r"following instructions|tensorflow/",
    re.IGNORECASE,
)


@pytest.mark.skipif(has_nvidia_device(), reason="CUDA lines are news there")
@pytest.mark.parametrize("command", sorted(PAST_THE_CHECKS))
def test_no_tensorflow_start_up_line_on_a_cpu_machine(inputs, command):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it
    flags = PAST_THE_CHECKS[command].format(**inputs).split()
    result = subprocess.run(
        [sys.executable, "-m", "keras_dcgan", *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=inputs["root"],
    )
    lines = result.stderr.splitlines()
    assert not [line for line in lines if TENSORFLOW_LINE.search(line)], lines
    if command == "train":
        assert result.returncode == 0, lines
    else:  # the error only a loaded TensorFlow finds, in one line
        assert result.returncode == 2 and len(lines) == 1, lines
        assert lines[0].startswith("keras-dcgan: error:"), lines


# Mistakes about files: answered before TensorFlow is imported.
CHEAP_REFUSALS = {
    "train: no --data": (
        "train --data {root}/nothere.npz --output-dir {root}/new",
        "--data {root}/nothere.npz: no such file",
    ),
    "train: no --data-dir": (
        "train --dataset mnist --data-dir {root}/nothere --output-dir {root}/new",
        "--data-dir {root}/nothere: no such file",
    ),
    "train: output directory not empty": (
        "train --data {root}/x.npz --output-dir {root}/notes",
        "is not empty",
    ),
    "train: output directory is a run": (
        "train --data {root}/x.npz --output-dir {run}",
        "is not empty",
    ),
    "train: no classifier": (
        "train --data {root}/x.npz --output-dir {root}/new --eval-every 5 "
        "--eval-features classifier:{root}/nothere.keras",
        "--eval-features classifier:{root}/nothere.keras: no such file",
    ),
    **{
        f"{command}: no run": (
            flags.replace("{run}", "{root}/nothere"),
            "{root}/nothere: no such run directory",
        )
        for command, flags in PAST_THE_CHECKS.items()
        if "{run}" in flags
    },
    **{
        f"{command}: not a run": (
            flags.replace("{run}", "{root}/notes"),
            "{root}/notes is not a keras_dcgan run",
        )
        for command, flags in PAST_THE_CHECKS.items()
        if "{run}" in flags
    },
    **{
        f"{command}: no such step": (
            flags + " --checkpoint 120",
            "--checkpoint 120: {run} has no checkpoint of step 120; its "
            "checkpoints are of steps 2.",
        )
        for command, flags in PAST_THE_CHECKS.items()
        if "{run}" in flags
    },
    "nearest: no --data": (
        "nearest {run} --data {root}/nothere.npz --output {root}/n.png",
        "--data {root}/nothere.npz: no such file",
    ),
    "evaluate: no --data": (
        "evaluate {run} --data {root}/nothere.npz",
        "--data {root}/nothere.npz: no such file",
    ),
    "evaluate: no classifier": (
        "evaluate {run} --data {root}/x.npz --features classifier:{root}/no.keras",
        "--features classifier:{root}/no.keras: no such file",
    ),
    "arithmetic: no --latents": (
        "arithmetic {run} --latents {root}/no.npy --plus 0 --output {root}/a.png",
        "--latents {root}/no.npy: no such file",
    ),
}

IN_PROCESS = """
import sys
from keras_dcgan.cli import main
rc = main(sys.argv[1:])
print("tensorflow" if "tensorflow" in sys.modules else "no tensorflow")
sys.exit(rc)
"""


@pytest.mark.parametrize("case", sorted(CHEAP_REFUSALS))
def test_a_mistake_about_a_file_is_answered_before_tensorflow(inputs, case):
    flags, wanted = CHEAP_REFUSALS[case]
    before = snapshot(inputs["root"])
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, *flags.format(**inputs).split()],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=inputs["root"],
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout.strip() == "no tensorflow", result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-dcgan: error:"), lines
    assert wanted.format(**inputs) in lines[0]
    assert snapshot(inputs["root"]) == before  # nothing written


def help_text(argv, capsys):
    from keras_dcgan.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_train_help_is_short_and_help_all_shows_every_flag(capsys):
    from keras_dcgan.cli import build_parser
    from keras_dcgan.cli.train_flags import CONFIG_FLAGS

    short = help_text(["train", "--help"], capsys)
    full = help_text(["train", "--help-all"], capsys)
    assert len(short.splitlines()) <= 70 < len(full.splitlines())
    flags = [*CONFIG_FLAGS, "--data-dir", "--allow-data-change", "--overwrite"]
    for flag in flags:
        assert flag in full, flag
    assert "--max-image-pixels" not in short and "--help-all" in short
    # Every flag's help is there once --help-all is given, with its default.
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        if action.option_strings and action.dest not in ("help", "help_all"):
            text = getattr(action, "full_help", action.help)
            assert text and text != argparse.SUPPRESS, action.dest
            assert "(default: " in text or action.nargs == 0 or action.required, (
                action.dest
            )


@pytest.mark.parametrize("argv", [["train", "--help"], ["train", "--help-all"]])
def test_train_help_speaks_the_commands_words(argv, capsys):
    text = help_text(argv, capsys)
    body = text.split("options:", 1)[1]  # the usage line lists choices
    assert "None" not in body
    from keras_dcgan.cli.train_flags import CONFIG_FLAGS

    for field, _, _ in CONFIG_FLAGS.values():
        if "_" in field:  # a field name where the flag is meant
            assert field not in body, field
    assert "keras_dcgan." not in body and "DCGANConfig" not in text
    assert "--verbose" in body and "(default: 1 on a terminal, else 2)" in " ".join(
        body.split()
    )


@pytest.mark.parametrize("command", ["train", "sample", "export"])
def test_help_ends_with_examples_that_parse(command, capsys):
    from keras_dcgan.cli import build_parser

    text = help_text([command, "--help"], capsys)
    examples = text.split("\nexamples:\n", 1)[1]
    lines = [line.split() for line in examples.splitlines()]
    commands = [words for words in lines if words[:1] == ["keras-dcgan"]]
    assert len(commands) >= 3
    for words in commands:
        assert words[1] == command
        build_parser().parse_args(words[1:])  # each example is valid


PYTORCH_NAMES = {
    "--lr": ("--learning-rate", "learning_rate", "0.001"),
    "--niter": ("--epochs", "epochs", "7"),
    "--batchSize": ("--batch-size", "batch_size", "32"),
    "--imageSize": ("--image-size", "image_size", "32"),
    "--manualSeed": ("--seed", "seed", "5"),
    "--outf": ("--output-dir", "output_dir", "runs/x"),
    "--nz": ("--latent-dim", "latent_dim", "16"),
    "--ngf": ("--generator-width", "generator_width", "16"),
    "--ndf": ("--discriminator-width", "discriminator_width", "16"),
    "--beta1": ("--beta-1", "beta_1", "0.4"),
}


@pytest.mark.parametrize("alias", sorted(PYTORCH_NAMES))
def test_the_pytorch_names_are_aliases(alias):
    from keras_dcgan.cli import build_parser

    flag, dest, value = PYTORCH_NAMES[alias]
    base = [] if dest == "output_dir" else ["--output-dir", "r"]
    by_alias = build_parser().parse_args(["train", *base, alias, value])
    by_flag = build_parser().parse_args(["train", *base, flag, value])
    assert getattr(by_alias, dest) == getattr(by_flag, dest) is not None
    assert vars(by_alias) == vars(by_flag)


@pytest.mark.parametrize("alias", sorted(set(PYTORCH_NAMES) - {"--outf"}))
def test_a_bad_value_of_an_alias_is_one_line(alias, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, "train", "--output-dir", "r"]
        + [alias, "-3"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-dcgan: error:"), lines
    assert os.listdir(tmp_path) == []  # nothing written


READERS_WITH_SEED = {
    "sample": ["RUN", "--output", "s.png"],
    "interpolate": ["RUN", "--output", "i.png"],
    "arithmetic": ["RUN", "--latents", "z.npy", "--plus", "0", "--output", "a.png"],
    "nearest": ["RUN", "--data", "x.npz", "--output", "n.png"],
    "evaluate": ["RUN", "--data", "x.npz"],
    "train-classifier": ["--data", "x.npz", "--output", "c.keras"],
}


@pytest.mark.parametrize("command", sorted(READERS_WITH_SEED))
def test_every_command_draws_with_seed_0_by_default(command, capsys):
    from keras_dcgan.cli import build_parser
    from keras_dcgan.config import DCGANConfig

    args = build_parser().parse_args([command, *READERS_WITH_SEED[command]])
    assert args.seed == DCGANConfig().seed == 0
    assert "(default: 0)" in " ".join(help_text([command, "--help"], capsys).split())


BLOCKED_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` fails
from keras_dcgan.errors import RunError
from keras_dcgan.runs.runlock import run_lock
try:
    with run_lock(sys.argv[1]):
        pass
except RunError as e:
    print(e)
"""


def test_training_without_fcntl_names_the_systems_it_needs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_FCNTL, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Linux or macOS" in result.stdout and "WSL" in result.stdout
    assert len(result.stdout.splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_bad_eval_classifier_is_named_by_trains_flag(inputs, capsys, dry_run):
    from keras_dcgan.cli import main

    root = inputs["root"]
    flags = ["train", "--data", f"{root}/x.npz", "--output-dir", f"{root}/new"]
    flags += [*tiny_flags(), "--steps", "2", "--eval-every", "1"]
    flags += ["--eval-features", f"classifier:{root}/garbage.keras"]
    assert main(flags + (["--dry-run"] if dry_run else [])) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith(
        f"keras-dcgan: error: --eval-features classifier:{root}/garbage.keras:"
    ), lines
