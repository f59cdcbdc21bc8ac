"""benchmarks/device_check.sh, the GPU check, run on the CPU with tiny
settings: the same code path (benchmark, training run, sample, export, the
table), so that it works the day a GPU is there."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_device_check_runs_end_to_end_in_its_tiny_mode(tmp_path):
    env = dict(
        os.environ,
        OUT=str(tmp_path),
        NO_INSTALL="1",
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        PYTHONPATH=ROOT,
    )
    done = subprocess.run(
        ["bash", os.path.join(ROOT, "benchmarks", "device_check.sh"), "--tiny"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout.split("== device check:", 1)[1]
    assert "keras_dcgan float32" in table and "fused tf.function float32" in table
    assert "precision float32" in table or "precision mixed_bfloat16" in table
    assert "sample: exit 0; export: exit 0" in table
    assert "device check: ok" in table
    assert (tmp_path / "sample.png").stat().st_size > 0
    assert (tmp_path / "export" / "1" / "saved_model.pb").exists()
