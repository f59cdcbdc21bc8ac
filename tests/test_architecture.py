"""The package's shape: the lesson stays short, arrows point down."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "keras_dcgan", "composite.py")


def test_the_lesson_module_reads_in_a_few_minutes():
    with open(LESSON) as f:
        assert len(f.read().splitlines()) < 120


def test_import_contracts_are_kept():
    result = subprocess.run(
        ["lint-imports", "setup.cfg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
