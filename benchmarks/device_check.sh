#!/usr/bin/env bash
# The GPU path, measured in one go (under 8 minutes on one GPU):
#   1. the throughput benchmark at 64 and 28 px, batch 128, float32 and
#      mixed_bfloat16: the library's loop, the fused tf.function step and
#      PyTorch (float32, bf16 autocast, bf16 + channels_last), CUDA build;
#   2. a 2-minute `keras-dcgan train --verbose 2` on the offline default
#      data, whose first line says what `auto` picked (XLA, precision);
#   3. `sample` and `export` from that GPU-trained run.
# It prints one table at the end; the raw results go to $OUT (default
# ./device_check_out).
#
#   bash benchmarks/device_check.sh            # install into .venv-device, then run
#   bash benchmarks/device_check.sh --tiny     # the same code path with tiny
#                                              # settings (CPU: seconds, not minutes)
#   NO_INSTALL=1 bash benchmarks/device_check.sh   # use the active environment
#
# The install needs the package registry: TensorFlow with its CUDA
# libraries (`tensorflow[and-cuda]`) and PyTorch's default (CUDA) build.
set -euo pipefail
cd "$(dirname "$0")/.."

tiny=0
[ "${1:-}" = "--tiny" ] && tiny=1
out="${OUT:-$PWD/device_check_out}"
mkdir -p "$out"

if [ -z "${NO_INSTALL:-}" ]; then
  venv="${VENV:-.venv-device}"
  python3 -m venv "$venv"
  # shellcheck disable=SC1091
  . "$venv/bin/activate"
  extra=""
  if command -v nvidia-smi >/dev/null 2>&1; then extra="[and-cuda]"; fi
  python -m pip install --quiet "tensorflow${extra}>=2.21,<2.22" torch -r requirements.txt
  python -m pip install --quiet -e .
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L | tee "$out/gpus.txt" || echo "no nvidia-smi: CPU run"

if [ "$tiny" = 1 ]; then
  bench=(--image-size 28 --batch-size 16 --steps 2 --blocks 1 --warmup 1
         --precision float32 --torch-modes float32)
  train=(--steps 4 --latent-dim 8 --generator-width 8 --discriminator-width 8
         --batch-size 16 --num-samples 4)
  seconds=60
else
  bench=(--image-size 64 28 --batch-size 128 --precision float32 mixed_bfloat16)
  train=(--epochs 1000)  # stopped by the timeout below, with a checkpoint
  seconds=120
fi

echo "== throughput"
python -m benchmarks.train_throughput "${bench[@]}" --output "$out/throughput.json" \
  2>"$out/throughput.log" | tee "$out/throughput.txt"

echo "== a ${seconds}-second training run"
run="$out/run"
rm -rf "$run"
set +e
# SIGINT at the deadline: the run saves a checkpoint and exits 130.
timeout -s INT "$seconds" keras-dcgan train --output-dir "$run" --verbose 2 \
  "${train[@]}" >"$out/train.log" 2>&1
train_code=$?
keras-dcgan sample "$run" --num 16 --output "$out/sample.png" >"$out/sample.log" 2>&1
sample_code=$?
keras-dcgan export "$run" --output-dir "$out/export" >"$out/export.log" 2>&1
export_code=$?
set -e

python - "$out" "$train_code" "$sample_code" "$export_code" <<'EOF'
import json, os, re, sys

out, train_code, sample_code, export_code = sys.argv[1], *map(int, sys.argv[2:])
results = json.load(open(os.path.join(out, "throughput.json")))
machine = results["machine"]
print(f"\n== device check: {machine.get('cpu')}, GPUs {machine.get('gpus') or 'none'}, "
      f"TensorFlow {machine.get('tensorflow')}")
print(f"{'size':>5}  {'line':<42} {'img/s':>9} {'x best PyTorch':>15} {'of bound':>9}")
for size, block in results["sizes"].items():
    for line in block["lines"]:
        vs = f"{line['vs_pytorch']:.2f}" if "vs_pytorch" in line else ""
        bound = f"{line['of_bound']:.2f}" if "of_bound" in line else ""
        print(f"{size:>5}  {line['recipe']:<42} {line['images_per_second']:9.1f} {vs:>15} {bound:>9}")
log = open(os.path.join(out, "train.log")).read()
device = next((l for l in log.splitlines() if "Device:" in l), "no Device line")
steps = re.findall(r"step (\d+)/", log)
print(f"train: exit {train_code} (130 = stopped at the deadline, saved), "
      f"last step {steps[-1] if steps else '?'}")
print("  " + device.split("Device:", 1)[-1].strip())
print(f"sample: exit {sample_code}; export: exit {export_code}")
ok = train_code in (0, 130) and sample_code == 0 and export_code == 0
print("device check:", "ok" if ok else "FAILED (see the logs in " + out + ")")
sys.exit(0 if ok else 1)
EOF
