"""The PyTorch reference recipe of `quality_mnist.py`, run in its own process.

The training loop of pytorch/examples `dcgan/main.py` (one Adam step on D's
summed real+fake gradients, G's step on the same fake batch with label 1,
Adam(2e-4, (0.5, 0.999)), N(0, 0.02) init) on networks of exactly
keras_dcgan's 28x28 shapes (`torch_reference.torch_models`), on the CPU
with 2 threads. At each listed epoch it writes the samples of the fixed
evaluation latents in `eval()` mode (running statistics) and in `train()`
mode (batch statistics), as uint8 `.npz`, and `log.json` with the step and
training seconds of each.

From the repository root (`quality_mnist.py` and `quality_two_spaces.py`
launch it so, through `train_reference`):

    python -m benchmarks.quality_torch --data mnist_test_10k.npz \
        --run /tmp/quality_mnist/pytorch_reference/seed0 --seed 0 \
        --epochs 10,20,30 --num 5000
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.torch_reference import torch_models, weights_init

# The repository root: the folder `python -m benchmarks.quality_torch` runs in.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BATCH, LATENT, WIDTH = 128, 100, 64
EVAL_SEED = 0  # the evaluation latents: the same for every config and seed
# Batch-statistics sampling: 5,000 latents in 40 equal batches.
SAMPLE_BATCH = 125


def sample_latents(num, latent_dim, seed):
    """Same as keras_dcgan.generator.latent.sample_latents (no TF import)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((num, latent_dim)).astype(np.float32)


def train_reference(data, run, seed, epochs, num):
    """Trains the reference in its own process (`python -m
    benchmarks.quality_torch`, from the repository root, whatever the
    caller's folder); its samples and `log.json` go into `run`."""
    subprocess.run(
        [sys.executable, "-m", "benchmarks.quality_torch"]
        + ["--data", os.path.abspath(data), "--run", os.path.abspath(run)]
        + ["--seed", str(seed), "--num", str(num)]
        + ["--epochs", ",".join(map(str, epochs))],
        check=True,
        cwd=ROOT,
    )


def reference_samples(data, run, seed, epochs, num) -> dict:
    """{(epoch, sampling): (uint8 samples, the epoch's `log.json` entry)} of
    the reference in `run`, trained first (`train_reference`) when `run`
    has no log; sampling "moving" is `eval()` mode, "batch" `train()`."""
    log_path = os.path.join(run, "log.json")
    if not os.path.exists(log_path):
        print(f"== training the PyTorch reference, seed {seed}", flush=True)
        train_reference(data, run, seed, epochs, num)
    with open(log_path) as f:
        log = json.load(f)
    samples = {}
    for epoch in epochs:
        for mode, sampling in (("eval", "moving"), ("train", "batch")):
            with np.load(os.path.join(run, f"samples_{mode}_{epoch:04d}.npz")) as f:
                samples[(epoch, sampling)] = (f["x"], log["epochs"][str(epoch)])
    return samples


def torch_worker(args):
    """Trains the PyTorch reference; writes samples at each listed epoch."""
    import torch
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    epochs = sorted(int(e) for e in args.epochs.split(","))
    with np.load(args.data) as f:
        x = f["x"]
    data = torch.from_numpy(
        (x.astype(np.float32) / 127.5 - 1.0)[:, None]
    )  # [N, 1, 28, 28]
    steps_per_epoch = len(data) // BATCH

    netG, netD = torch_models(28, 1, WIDTH, LATENT)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    z_eval = torch.from_numpy(sample_latents(args.num, LATENT, EVAL_SEED))
    os.makedirs(args.run, exist_ok=True)
    log = {"steps_per_epoch": steps_per_epoch, "epochs": {}}
    elapsed, step = 0.0, 0
    for epoch in range(1, max(epochs) + 1):
        start = time.time()
        netG.train()
        netD.train()
        order = torch.from_numpy(
            np.random.default_rng(args.seed * 100_003 + epoch).permutation(len(data))
        )
        for i in range(steps_per_epoch):  # the incomplete batch is dropped
            real = data[order[i * BATCH : (i + 1) * BATCH]]
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z))).
            netD.zero_grad()
            label = torch.full((BATCH,), real_label)
            output = netD(real).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(BATCH, LATENT)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optD.step()
            # (2) Update G: maximize log(D(G(z))), on the same fakes.
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optG.step()
            step += 1
        elapsed += time.time() - start
        print(
            f"torch epoch {epoch}: {elapsed:.1f} s, "
            f"D {errD_real.item() + errD_fake.item():.3f}, "
            f"G {errG.item():.3f}",
            flush=True,
        )
        if epoch in epochs:
            samples = {}
            with torch.no_grad():
                netG.eval()  # moving statistics, like Keras' training=False
                samples["eval"] = torch.cat(
                    [netG(z_eval[i : i + 500]) for i in range(0, len(z_eval), 500)]
                )
                # Train mode: batch statistics over batches of SAMPLE_BATCH. Those
                # passes also move BN's running statistics, so the state
                # from before them is put back afterwards.
                saved = {k: v.clone() for k, v in netG.state_dict().items()}
                netG.train()
                samples["train"] = torch.cat(
                    [
                        netG(z_eval[i : i + SAMPLE_BATCH])
                        for i in range(0, len(z_eval), SAMPLE_BATCH)
                    ]
                )
                netG.load_state_dict(saved)
            for mode, images in samples.items():
                images = images.permute(0, 2, 3, 1).numpy()
                uint8 = np.clip(np.round((images + 1.0) * 127.5), 0, 255)
                np.savez_compressed(
                    os.path.join(args.run, f"samples_{mode}_{epoch:04d}.npz"),
                    x=uint8.astype(np.uint8),
                )
            log["epochs"][str(epoch)] = {"step": step, "seconds": elapsed}
            torch.save(
                netG.state_dict(), os.path.join(args.run, f"netG_{epoch:04d}.pt")
            )
    with open(os.path.join(args.run, "log.json"), "w") as f:
        json.dump(log, f, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="MNIST .npz with x")
    parser.add_argument("--run", required=True, help="folder for samples and log")
    parser.add_argument("--seed", type=int, default=0, help="weights, noise, order")
    parser.add_argument("--epochs", default="10,20,30", help="epochs to sample")
    parser.add_argument("--num", type=int, default=5000, help="samples per epoch")
    torch_worker(parser.parse_args())


if __name__ == "__main__":
    main()
