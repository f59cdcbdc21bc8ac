"""How fast does a DCGAN train? Images/s of complete training steps.

For each image size (28: the MNIST networks, 64: the paper's), in one run on
the same machine and the same networks (widths 64, latent 100):

- `keras_dcgan`: the library's own training loop, `keras_dcgan.train`, fed
  by its tf.data pipeline, timed by a Keras callback between step ends
  (so data, logging and monitoring count), with the chosen `--precision`s;
- `fused`: one `tf.function` step on the same Keras models (G's forward is
  shared by D's fake pass and G's update, D makes one Adam step on the
  summed real and fake losses), as a reference line for TensorFlow itself;
- `pytorch`: the pytorch/examples DCGAN step (same layers, NCHW, in a
  separate process so the two runtimes' thread pools never compete).

By default (28 and 64 px, float32, one fused line with the library's XLA
choice) it takes 3 to 5 minutes on a 2-core CPU. `--strategy mirrored`
times the library's loop with the batch split across devices (with
`--cpu-replicas 2` on a machine without GPU, to measure what the splitting
and synchronization cost). Each line is the median of `--blocks` blocks of
`--steps` steps, after
`--warmup` steps. FLOPs count the multiply-adds of convolutions and dense
layers (x2), with a backward pass costing twice its forward, over what each
recipe computes (see `step_flops`). Usage:

    python -m benchmarks.train_throughput --image-size 28 64 \
        --precision float32 mixed_bfloat16 --output docs/train_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

import keras_dcgan  # noqa: F401  (before TensorFlow: it picks the CPU kernels)
from benchmarks.torch_reference import torch_models

LATENT, WIDTH = 100, 64


def layer_flops(image_size: int, channels: int = 1):
    """Forward FLOPs per image of G and of D (convolutions and dense)."""
    base = 7 if image_size == 28 else 4
    steps = int(np.log2(image_size // base))
    g_width = WIDTH * 2 ** (steps - 1)
    g = 2 * LATENT * base * base * g_width
    side, width = base, g_width
    for i in range(steps):
        out = channels if i == steps - 1 else width // 2
        g += 2 * side * side * width * 16 * out  # transposed conv, 4x4
        side, width = side * 2, out
    d, side, width, cin = 0, image_size, WIDTH, channels
    for _ in range(steps):
        side //= 2
        d += 2 * side * side * width * 16 * cin
        cin, width = width, width * 2
    d += 2 * side * side * cin
    return g, d


def step_flops(recipe: str, image_size: int, channels: int, batch: int):
    """FLOPs of one training step of a recipe.

    Forward F, backward 2F (input and weight gradients), except where a
    recipe only needs input gradients (D in the library's and the fused
    G step: F). The library runs G's forward twice (the fakes, then inside
    the combined model); the PyTorch recipe also computes D's weight
    gradients in G's step, which it then discards.
    """
    g, d = layer_flops(image_size, channels)
    d_steps = 3 * d + 3 * d  # D on real and on fake, forward + backward
    if recipe == "keras_dcgan":
        per_image = g + (g + 2 * g) + d_steps + (d + d)
    elif recipe == "fused":
        per_image = (g + 2 * g) + d_steps + (d + d)
    else:  # pytorch
        per_image = (g + 2 * g) + d_steps + (d + 2 * d)
    return per_image * batch


def summarize(name, block_seconds, batch, steps, flops):
    rates = [steps * batch / s for s in block_seconds]
    rate = float(np.median(rates))
    return {
        "recipe": name,
        "images_per_second": rate,
        "blocks": [round(r, 1) for r in rates],
        "ms_per_step": 1000 * batch / rate,
        "gflops_per_step": flops / 1e9,
        "gflops_per_second": flops * rate / batch / 1e9,
    }


def random_images(count, size, channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, size, size, channels), np.uint8)


def keras_dcgan_line(args, size, channels, precision, jit_compile, strategy="auto"):
    """The library's own loop (`keras_dcgan.train`), timed by a callback."""
    import keras

    from keras_dcgan import DCGANConfig, train
    from keras_dcgan.data import from_array

    total = args.warmup + args.blocks * args.steps
    images = from_array(
        random_images((total + 1) * args.batch_size, size, channels), size, channels
    )
    config = DCGANConfig(
        image_size=size,
        channels=channels,
        batch_size=args.batch_size,
        steps=total,
        precision=precision,
        latent_dim=LATENT,
        generator_width=WIDTH,
        discriminator_width=WIDTH,
        num_samples=16,
        collapse_patience=0,
        jit_compile=jit_compile,
        strategy=strategy,
    )

    class StepEnds(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    ends = StepEnds()
    with tempfile.TemporaryDirectory() as run_dir:
        train(config, images, os.path.join(run_dir, "run"), callbacks=[ends], verbose=0)
    t = ends.times[args.warmup - 1 :]
    blocks = [t[(i + 1) * args.steps] - t[i * args.steps] for i in range(args.blocks)]
    flops = step_flops("keras_dcgan", size, channels, args.batch_size)
    xla = {"auto": "", "on": " XLA", "off": " no XLA"}[jit_compile]
    where = "" if strategy == "auto" else f" {strategy}"
    return summarize(
        f"keras_dcgan {precision}{xla}{where}",
        blocks,
        args.batch_size,
        args.steps,
        flops,
    )


def fused_line(args, size, channels, jit_compile, precision="float32"):
    """One tf.function step on the library's models: the TF reference."""
    import keras
    import tensorflow as tf

    from keras_dcgan import DCGANConfig
    from keras_dcgan.data import epoch_batches, from_array
    from keras_dcgan.networks import build_discriminator, build_generator

    config = DCGANConfig(
        image_size=size,
        channels=channels,
        batch_size=args.batch_size,
        precision=precision,
        latent_dim=LATENT,
        generator_width=WIDTH,
        discriminator_width=WIDTH,
    )
    generator, discriminator = (build_generator(config), build_discriminator(config))
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy()
    batch = args.batch_size
    ones, zeros = tf.ones((batch, 1)), tf.zeros((batch, 1))

    @tf.function(jit_compile=jit_compile)
    @tf.autograph.experimental.do_not_convert
    def step(real):
        z = tf.random.normal((batch, LATENT))
        with tf.GradientTape() as g_tape:
            fakes = generator(z, training=True)
            with tf.GradientTape() as d_tape:
                d_loss = bce(ones, discriminator(real, training=True)) + bce(
                    zeros, discriminator(tf.stop_gradient(fakes), training=True)
                )
            d_vars = discriminator.trainable_variables
            d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            g_loss = bce(ones, discriminator(fakes, training=True))
        g_vars = generator.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    total = args.warmup + args.blocks * args.steps
    images = from_array(
        random_images((total + 1) * batch, size, channels), size, channels
    )
    batches = iter(epoch_batches(images, batch, 0, 0))
    times = []
    for _ in range(total):
        losses = step(next(batches))
        float(losses[1])  # a host read per step, as a training loop logs
        times.append(time.perf_counter())
    t = times[args.warmup - 1 :]
    blocks = [t[(i + 1) * args.steps] - t[i * args.steps] for i in range(args.blocks)]
    name = f"fused tf.function {precision}" + (" XLA" if jit_compile else "")
    return summarize(
        name, blocks, batch, args.steps, step_flops("fused", size, channels, batch)
    )


TORCH_MODES = ("float32", "bf16", "bf16_channels_last")


def torch_worker(args):
    """The pytorch/examples DCGAN step, timed like the others, in each of
    `--torch-modes` (float32; bf16 autocast with float32 losses; the same
    with channels_last tensors); on CUDA when there is a GPU. Prints one
    JSON line per mode."""
    import torch

    for mode in args.torch_modes:
        line = _torch_mode(torch, args, mode)
        print("RESULT " + json.dumps(line), flush=True)


def _torch_mode(torch, args, mode: str) -> dict:
    from torch import nn

    from benchmarks.torch_reference import weights_init

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    size, channels, batch = args.image_size[0], args.channels, args.batch_size
    netG, netD = (m.to(device) for m in torch_models(size, channels))
    netG.apply(weights_init)
    netD.apply(weights_init)
    layout = torch.contiguous_format
    if mode.endswith("channels_last"):
        layout = torch.channels_last
        netG, netD = netG.to(memory_format=layout), netD.to(memory_format=layout)
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=mode.startswith("bf16")
    )
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    total = args.warmup + args.blocks * args.steps
    images = random_images((total + 1) * batch, size, channels)
    data = (
        torch.from_numpy(images.astype(np.float32) / 127.5 - 1)
        .permute(0, 3, 1, 2)
        .contiguous(memory_format=layout)
        .to(device)
    )
    order = torch.randperm(len(data), device=device)
    ones = torch.full((batch,), 1.0, device=device)
    zeros = torch.full((batch,), 0.0, device=device)

    def d_out(x):  # the loss in float32, as the library computes it
        return netD(x).view(-1).float()

    times = []
    for i in range(total):
        real = data[order[i * batch : (i + 1) * batch]]
        netD.zero_grad()
        with autocast:
            errD_real = criterion(d_out(real), ones)
        errD_real.backward()
        with autocast:
            fake = netG(torch.randn(batch, LATENT, device=device))
            errD_fake = criterion(d_out(fake.detach()), zeros)
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        with autocast:
            errG = criterion(d_out(fake), ones)
        errG.backward()
        optG.step()
        errG.item()  # a host read per step, as a training loop logs
        times.append(time.perf_counter())
    t = times[args.warmup - 1 :]
    blocks = [t[(i + 1) * args.steps] - t[i * args.steps] for i in range(args.blocks)]
    return summarize(
        f"pytorch {torch.__version__} {mode}",
        blocks,
        batch,
        args.steps,
        step_flops("pytorch", size, channels, batch),
    )


def pytorch_lines(args, size, channels) -> list:
    command = [
        sys.executable,
        "-m",
        "benchmarks.train_throughput",
        "--torch-worker",
        "--torch-modes",
        *args.torch_modes,
        "--image-size",
        str(size),
        "--channels",
        str(channels),
        "--batch-size",
        str(args.batch_size),
        "--steps",
        str(args.steps),
        "--blocks",
        str(args.blocks),
        "--warmup",
        str(args.warmup),
    ]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(command, capture_output=True, text=True, cwd=root)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if out.returncode or not lines:
        print(out.stderr[-2000:], file=sys.stderr)
    return [json.loads(line[len("RESULT ") :]) for line in lines]


def add_bounds(lines: list, size: int, channels: int, batch: int) -> None:
    """Each library line's distance from its structural bound: the fused
    step of the same precision slowed only by the FLOPs the composite adds
    (G's second forward), `of_bound` = 1.0 when it loses nothing else."""
    ratio = step_flops("fused", size, channels, batch) / step_flops(
        "keras_dcgan", size, channels, batch
    )
    for line in lines:
        if not line["recipe"].startswith("keras_dcgan"):
            continue
        precision = line["recipe"].split()[1]
        fused = [
            l for l in lines if l["recipe"].startswith(f"fused tf.function {precision}")
        ]
        if fused:
            best = max(l["images_per_second"] for l in fused)
            line["bound_images_per_second"] = best * ratio
            line["of_bound"] = line["images_per_second"] / (best * ratio)


def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            names = [
                l.split(":", 1)[1].strip() for l in f if l.startswith("model name")
            ]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    import keras
    import tensorflow as tf

    info["tensorflow"], info["keras"] = tf.__version__, keras.__version__
    info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    from keras_dcgan.devices.kernels import onednn_enabled, resolve_jit_compile

    info["onednn"] = onednn_enabled()
    info["default_xla"] = resolve_jit_compile()
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, nargs="+", default=[28, 64])
    parser.add_argument("--channels", type=int, help="default: 1 at 28 px, else 3")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--steps",
        type=int,
        help="steps per timed block (default: 10 up to 32 px, 4 above)",
    )
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", nargs="+", default=["float32"])
    parser.add_argument(
        "--jit-compile",
        nargs="+",
        default=["auto"],
        choices=["auto", "on", "off"],
        help="library lines to run (auto: the default path)",
    )
    parser.add_argument(
        "--strategy",
        nargs="+",
        default=["auto"],
        help="--strategy of the library lines",
    )
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=0,
        help="split the CPU into this many logical devices "
        "(for --strategy mirrored on a machine without GPU)",
    )
    parser.add_argument(
        "--fused-jit-compile",
        default="auto",
        choices=["auto", "on", "off", "both"],
        help="XLA for the fused line(s) (auto: as the library's default here)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["fused", "pytorch"])
    parser.add_argument("--output", help="JSON file for the results")
    parser.add_argument(
        "--torch-modes",
        nargs="+",
        default=list(TORCH_MODES),
        choices=TORCH_MODES,
        help="PyTorch lines: float32, bf16 autocast, bf16 autocast + channels_last",
    )
    parser.add_argument(
        "--fused-precision",
        nargs="+",
        help="precisions of the fused lines (default: those of --precision)",
    )
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if args.cpu_replicas:
        import tensorflow as tf

        tf.config.set_logical_device_configuration(
            tf.config.list_physical_devices("CPU")[0],
            [tf.config.LogicalDeviceConfiguration()] * args.cpu_replicas,
        )
    results = {
        "machine": machine(),
        "batch_size": args.batch_size,
        "command": " ".join(sys.argv),
        "blocks": args.blocks,
        "warmup": args.warmup,
        "sizes": {},
    }
    from keras_dcgan.devices.kernels import resolve_jit_compile

    fused_xla = {
        "auto": [resolve_jit_compile()],
        "on": [True],
        "off": [False],
        "both": [False, True],
    }[args.fused_jit_compile]
    steps_given = args.steps
    for size in args.image_size:
        channels = args.channels or (1 if size == 28 else 3)
        args.steps = steps_given or (10 if size <= 32 else 4)
        lines = []
        if "pytorch" not in args.skip:
            lines.extend(pytorch_lines(args, size, channels))
        for precision in args.precision:
            for jit in args.jit_compile:
                for strategy in args.strategy:
                    lines.append(
                        keras_dcgan_line(args, size, channels, precision, jit, strategy)
                    )
        if "fused" not in args.skip:
            for precision in args.fused_precision or args.precision:
                for jit in fused_xla:
                    lines.append(fused_line(args, size, channels, jit, precision))
        lines = [l for l in lines if l]
        add_bounds(lines, size, channels, args.batch_size)
        torch_lines = [l for l in lines if l["recipe"].startswith("pytorch")]
        # Every ratio against PyTorch at its best on this machine.
        reference = max(torch_lines, key=lambda l: l["images_per_second"], default=None)
        print(f"\n{size}x{size}x{channels}, batch {args.batch_size}")
        for line in lines:
            if reference:
                line["vs_pytorch"] = (
                    line["images_per_second"] / reference["images_per_second"]
                )
            ratio = f"x{line['vs_pytorch']:.2f}" if "vs_pytorch" in line else "     "
            bound = line.get("of_bound")
            bound = f"{bound:.2f} of bound" if bound else " " * 14
            print(
                f"  {line['recipe']:<40} {line['images_per_second']:8.1f} "
                f"img/s {line['ms_per_step']:8.1f} ms/step "
                f"{line['gflops_per_second']:6.1f} GFLOP/s {ratio} {bound} "
                f"blocks {line['blocks']}",
                flush=True,
            )
        if reference:
            print(f"  (x: against the best PyTorch line, {reference['recipe']})")
        results["sizes"][str(size)] = {"steps": args.steps, "lines": lines}
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
