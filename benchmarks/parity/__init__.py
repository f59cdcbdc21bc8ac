"""Step-for-step parity of keras_dcgan's recipe with the PyTorch reference.

Builds the library's generator and discriminator (preset "dcgan", 28 px),
ports their initial weights layer by layer into the PyTorch reference
networks of `benchmarks/torch_reference.py`, then trains both from there on
the same real batches (the library's own `epoch_batches`, in its order), the
same z (the latents the library's step drew) and the same labels: the
library through its real `train_step` (`CompositeDCGAN` or `DCGAN`), PyTorch
through the pytorch/examples step of `quality_torch.py`, in float32 with
deterministic ops on both sides. After every step it compares D's and G's
losses, D(x) and D(G(z)), every weight, every Adam slot (m, v) and every
BatchNorm moving statistic, and names the first quantity that differs by
more than the tolerance (1e-4 relative).

The PyTorch step has one switch per difference between the two recipes
(`recipe.TorchRecipe`): set to the library's side (`LIBRARY`) the two agree
to float32 rounding; set to pytorch/examples' side (`REFERENCE`) one at a
time, each shows what it changes. Every variant runs in lockstep with one
library run. Relative difference: max |a - b| over the elements of a tensor,
divided by max |b| (b: the library's value), so that near-zero elements of a
tensor do not read as large differences.

Modules, in the order a run uses them:

- `recipe`: the switches (`TorchRecipe`) and the named variants.
- `reference`: the PyTorch step with those switches, Keras' Adam included.
- `port`: which Keras variable is which torch tensor; copying the weights.
- `library`: the library's GAN with its real train step, its batches.
- `compare`: differences of scalars and state; the first drifting quantity.
- `lockstep`: one library run and every variant, step by step.
- `report`: the plain-text summary; `__main__`: the command line.

From the repository root:

    python -m benchmarks.parity --steps 200 --data mnist_test_10k.npz
    python -m benchmarks.parity --width 8 --latent 8 --batch 8 --steps 20

(`mnist_test_10k.npz`: see docs/FROZEN_DISCRIMINATOR.md; without --data,
the offline scikit-learn digits.) Writes the report as JSON with --json.
"""
