"""Step-for-step parity of keras_dcgan's recipe with the PyTorch reference.

Builds the library's generator and discriminator (preset "dcgan", 28 px),
ports their initial weights layer by layer into the PyTorch reference
networks of `torch_reference.py`, then trains both from there on the same
real batches (the library's own `epoch_batches`, in its order), the same z
(the latents the library's step drew) and the same labels: the library
through its real `train_step` (`CompositeDCGAN` or `DCGAN`), PyTorch through
the pytorch/examples step of `quality_torch.py`, in float32 with
deterministic ops on both sides. After every step it compares D's and G's
losses, D(x) and D(G(z)), every weight, every Adam slot (m, v) and every
BatchNorm moving statistic, and names the first quantity that differs by
more than the tolerance (1e-4 relative).

The PyTorch step has one switch per difference between the two recipes
(`TorchRecipe`): set to the library's side (`LIBRARY`) the two agree to
float32 rounding; set to pytorch/examples' side (`REFERENCE`) one at a time,
each shows what it changes. Every variant runs in lockstep with one library
run. Relative difference: max |a - b| over the elements of a tensor,
divided by max |b| (b: the library's value), so that near-zero elements of a
tensor do not read as large differences.

    python benchmarks/parity_torch.py --steps 200 --data mnist_test_10k.npz
    python -m benchmarks.parity_torch --width 8 --latent 8 --batch 8 --steps 20

(`mnist_test_10k.npz`: see docs/FROZEN_DISCRIMINATOR.md; without --data,
the offline scikit-learn digits.) Writes the report as JSON with --json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import torch_models  # noqa: E402  (same folder)

TOLERANCE = 1e-4
EVAL_SAMPLES = 256  # inference-mode samples compared after the last step
# The step's scalars, in the order the step computes them.
SCALARS = ("d_loss_real", "d_of_real", "d_loss_fake", "g_loss", "d_of_fake")


@dataclasses.dataclass(frozen=True)
class TorchRecipe:
    """The PyTorch step, with each way it can differ from the library's.

    Attributes:
        adam: "keras": Keras 3's Adam (epsilon 1e-7 added to sqrt(v) before
            the bias correction of v, i.e. the paper's epsilon-hat);
            "torch": torch.optim.Adam(eps=1e-8) (after the correction);
            "torch-eps1e-7": torch.optim.Adam(eps=1e-7).
        d_update: "two_steps": one Adam step on the real batch's loss, then
            one on the fake batch's (two `train_on_batch` calls, the fake
            loss computed after the real step); "summed": one Adam step on
            the sum of both gradients, both losses from the same D.
        g_forward: "twice": G's step runs G again on the same z, so G's
            BatchNorm moving statistics move twice per step (the library's
            `make_fakes`, then the combined model); "once": G's step reuses
            D's fakes.
        running_var: "biased": BatchNorm's moving variance averages the
            batch variance over N (Keras); "unbiased": over N - 1 (PyTorch).
        loss: "logits": BCE from D's pre-sigmoid output (what Keras' traced
            `binary_crossentropy` computes after a sigmoid); "probabilities":
            `nn.BCELoss` on D's sigmoid output, log clamped at -100.
        bn_epsilon: BatchNorm's epsilon (both default to 1e-5 here; Keras'
            own default is 1e-3).
        dtype: "float32", or "float64": the same recipe computed nearly
            exactly, against which float32's own rounding is measured.
    """

    adam: str = "keras"
    d_update: str = "two_steps"
    g_forward: str = "twice"
    running_var: str = "biased"
    loss: str = "logits"
    bn_epsilon: float = 1e-5
    dtype: str = "float32"


LIBRARY = TorchRecipe()
REFERENCE = TorchRecipe(
    adam="torch",
    d_update="summed",
    g_forward="once",
    running_var="unbiased",
    loss="probabilities",
)
# One deviation at a time, each set to the reference's side, and two
# controls: Adam's epsilon alone, and Keras' default BatchNorm epsilon.
# float32 PyTorch against float64 PyTorch, same recipe: float32's own
# rounding, the floor under any float32 comparison.
NOISE_FLOOR = ("library", "library-float64")
VARIANTS = {
    "library": LIBRARY,
    "library-float64": dataclasses.replace(LIBRARY, dtype="float64"),
    "adam=torch": dataclasses.replace(LIBRARY, adam="torch"),
    "adam=torch-eps1e-7": dataclasses.replace(LIBRARY, adam="torch-eps1e-7"),
    "d_update=summed": dataclasses.replace(LIBRARY, d_update="summed"),
    "g_forward=once": dataclasses.replace(LIBRARY, g_forward="once"),
    "running_var=unbiased": dataclasses.replace(LIBRARY, running_var="unbiased"),
    "loss=probabilities": dataclasses.replace(LIBRARY, loss="probabilities"),
    "bn_epsilon=1e-3": dataclasses.replace(LIBRARY, bn_epsilon=1e-3),
    "reference": REFERENCE,
}


def set_deterministic(seed: int) -> None:
    """Deterministic float32 ops in both frameworks (TF turns XLA off)."""
    import keras
    import tensorflow as tf
    import torch

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    # One thread: the frameworks take turns, and TensorFlow's pool keeps
    # spinning after its ops, which slows a multi-threaded torch 10-50x.
    torch.set_num_threads(1)


# --------------------------------------------------------------------------
# PyTorch side: Adam as Keras computes it, BatchNorm with Keras' moving
# variance, and the step with its switches.


def keras_adam_class():
    """torch.optim.Optimizer computing Keras 3's Adam update, in float32
    in Keras' order (keras/src/optimizers/adam.py): m += (g - m)(1 - b1),
    v += (g^2 - v)(1 - b2), p -= m lr sqrt(1 - b2^t) / (1 - b1^t) /
    (sqrt(v) + eps). Its slots are named as torch.optim.Adam's."""
    import torch

    class KerasAdam(torch.optim.Optimizer):
        def __init__(self, params, lr, beta_1, beta_2=0.999, epsilon=1e-7):
            super().__init__(
                params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
            )
            self.iterations = 0

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                dtype = group["params"][0].dtype

                def scalar(value, dtype=dtype):
                    return torch.tensor(value, dtype=dtype)

                t = scalar(float(self.iterations + 1))
                b1, b2 = scalar(group["beta_1"]), scalar(group["beta_2"])
                alpha = scalar(group["lr"]) * torch.sqrt(1 - b2**t) / (1 - b1**t)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
                    # 1 - beta in double, then rounded, as Keras does.
                    m.add_((g - m) * (1 - group["beta_1"]))
                    v.add_((g.square() - v) * (1 - group["beta_2"]))
                    p.sub_((m * alpha) / (v.sqrt() + group["epsilon"]))
            self.iterations += 1

    return KerasAdam


def make_optimizer(parameters, recipe: TorchRecipe, lr: float, beta_1: float):
    import torch

    if recipe.adam == "keras":
        return keras_adam_class()(parameters, lr, beta_1)
    eps = {"torch": 1e-8, "torch-eps1e-7": 1e-7}[recipe.adam]
    return torch.optim.Adam(parameters, lr=lr, betas=(beta_1, 0.999), eps=eps)


def biased_running_var(module) -> None:
    """Makes a torch BatchNorm update its running variance with the biased
    batch variance (over N, as Keras), not the unbiased one (N - 1).
    Normalisation is unchanged: both normalise with the biased variance."""
    import torch
    import torch.nn.functional as F

    cls = type(module)

    class KerasMovingVariance(cls):
        def forward(self, x):
            if not self.training:
                return super().forward(x)
            axes = [0] + list(range(2, x.dim()))
            y = F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
            with torch.no_grad():
                mean = x.mean(axes)
                var = x.var(axes, unbiased=False)
                self.running_mean.mul_(1 - self.momentum).add_(mean * self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(var * self.momentum)
                self.num_batches_tracked += 1
            return y

    module.__class__ = KerasMovingVariance


class TorchSide:
    """The PyTorch reference networks and step, one `TorchRecipe`."""

    def __init__(self, config, recipe: TorchRecipe):
        import torch
        from torch import nn

        if config.generator_width != config.discriminator_width:
            raise ValueError("the reference networks have one width for G and D")
        self.recipe = recipe
        self.config = config
        self.G, self.D = torch_models(
            config.image_size,
            config.channels,
            config.generator_width,
            config.latent_dim,
        )
        self.dtype = getattr(torch, recipe.dtype)
        self.G.to(self.dtype)
        self.D.to(self.dtype)
        for module in list(self.G.modules()) + list(self.D.modules()):
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eps = recipe.bn_epsilon
                if recipe.running_var == "biased":
                    biased_running_var(module)
        self.optD = self.optG = None
        self._torch = torch

    def build_optimizers(self) -> None:
        """After the weights are ported (the slots start at zero)."""
        lr, beta_1 = self.config.learning_rate, self.config.beta_1
        self.optD = make_optimizer(self.D.parameters(), self.recipe, lr, beta_1)
        self.optG = make_optimizer(self.G.parameters(), self.recipe, lr, beta_1)

    def _d(self, x):
        """(loss input, probability): logits or probabilities per recipe."""
        logits = self.D[:-1](x).view(-1)
        probability = self.D[-1](logits)
        return (logits if self.recipe.loss == "logits" else probability), probability

    def _bce(self, out, target: float):
        import torch.nn.functional as F

        labels = self._torch.full_like(out, target)
        if self.recipe.loss == "logits":
            return F.binary_cross_entropy_with_logits(out, labels)
        return F.binary_cross_entropy(out, labels)

    def step(self, real_nhwc: np.ndarray, z: np.ndarray) -> dict:
        """One training step; returns the step's scalars (`SCALARS`)."""
        torch, recipe = self._torch, self.recipe
        real = torch.from_numpy(np.ascontiguousarray(real_nhwc.transpose(0, 3, 1, 2)))
        real = real.to(self.dtype)
        z = torch.from_numpy(np.array(z, np.float32)).to(self.dtype)
        real_label = 1.0 - self.config.label_smoothing
        self.G.train()
        self.D.train()
        if recipe.d_update == "summed":  # pytorch/examples: one Adam step
            self.optD.zero_grad()
            out_real, p_real = self._d(real)
            err_real = self._bce(out_real, real_label)
            err_real.backward()
            fake = self.G(z)
            out_fake, _ = self._d(fake.detach())
            err_fake = self._bce(out_fake, 0.0)
            err_fake.backward()
            self.optD.step()
        else:  # the library: make_fakes, then two train_on_batch calls
            fake = self.G(z)
            self.optD.zero_grad()
            out_real, p_real = self._d(real)
            err_real = self._bce(out_real, real_label)
            err_real.backward()
            self.optD.step()
            self.optD.zero_grad()
            out_fake, _ = self._d(fake.detach())
            err_fake = self._bce(out_fake, 0.0)
            err_fake.backward()
            self.optD.step()
        self.optG.zero_grad()
        fake_g = self.G(z) if recipe.g_forward == "twice" else fake
        out, p_fake = self._d(fake_g)
        err_g = self._bce(out, 1.0)
        err_g.backward()
        self.optG.step()
        return {
            "d_loss_real": err_real.item(),
            "d_of_real": p_real.mean().item(),
            "d_loss_fake": err_fake.item(),
            "g_loss": err_g.item(),
            "d_of_fake": p_fake.mean().item(),
        }


# --------------------------------------------------------------------------
# The port: which Keras variable is which torch tensor, in whose layout.


@dataclasses.dataclass
class Pair:
    """One Keras variable and the torch tensor it corresponds to."""

    name: str  # "G/deconv1/kernel"
    keras: object  # keras.Variable
    torch: object  # torch.Tensor (parameter or buffer)
    to_torch: object  # numpy Keras layout -> numpy torch layout
    kind: str  # "weight" or "bn_stat"
    optimizer: str  # "G" or "D" (whose Adam slots), "" for statistics

    def keras_value(self, value=None) -> np.ndarray:
        """The Keras variable (or `value`, same layout) in torch's layout."""
        value = np.asarray(self.keras if value is None else value)
        return self.to_torch(value)


def _conv(kernel):
    # Conv2D (h, w, in, out) -> Conv2d (out, in, h, w); Conv2DTranspose
    # (h, w, out, in) -> ConvTranspose2d (in, out, h, w): the same transpose,
    # no flip (both are cross-correlations and their exact adjoints).
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def nhwc_to_nchw_order(base: int, channels: int) -> np.ndarray:
    """Index into a flat NHWC (h, w, c) vector for each position of the flat
    NCHW (c, h, w) one: how Reshape/Flatten differ between the two."""
    return (
        np.arange(base * base * channels)
        .reshape(base, base, channels)
        .transpose(2, 0, 1)
        .reshape(-1)
    )


def parameter_pairs(generator, discriminator, side: TorchSide) -> list:
    """Every weight and BatchNorm statistic of the library's "dcgan" preset
    paired with the reference network's tensor, in forward order."""
    from torch import nn

    pairs = []

    def add(prefix, keras_layer, module, flat_order=None, rows=False):
        layer = keras_layer.name
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):

            def vector(v, order=flat_order):
                return v if order is None else v[order]

            for kname, tensor, kind in (
                ("gamma", module.weight, "weight"),
                ("beta", module.bias, "weight"),
                ("moving_mean", module.running_mean, "bn_stat"),
                ("moving_variance", module.running_var, "bn_stat"),
            ):
                pairs.append(
                    Pair(
                        f"{prefix}/{layer}/{kname}",
                        getattr(keras_layer, kname),
                        tensor,
                        vector,
                        kind,
                        prefix if kind == "weight" else "",
                    )
                )
            return
        if isinstance(module, nn.Linear):
            if flat_order is None:
                convert = np.transpose
            elif rows:  # D's classifier: its inputs are the flattened map

                def convert(k, order=flat_order):
                    return np.ascontiguousarray(k[order, :].T)
            else:  # G's projection: its outputs are reshaped to the map

                def convert(k, order=flat_order):
                    return np.ascontiguousarray(k[:, order].T)
        else:
            convert = _conv
        pairs.append(
            Pair(
                f"{prefix}/{layer}/kernel",
                keras_layer.kernel,
                module.weight,
                convert,
                "weight",
                prefix,
            )
        )
        if module.bias is not None:
            pairs.append(
                Pair(
                    f"{prefix}/{layer}/bias",
                    keras_layer.bias,
                    module.bias,
                    lambda v: v,
                    "weight",
                    prefix,
                )
            )

    config = side.config
    layers = {layer.name: layer for layer in generator.layers}
    steps = sum(1 for name in layers if name.startswith("deconv") and "_" not in name)
    base = config.image_size // 2**steps
    top = config.generator_width * 2 ** (steps - 1)
    order = nhwc_to_nchw_order(base, top)
    add("G", layers["project"], side.G.project[0], order)
    add("G", layers["project_bn"], side.G.project[1], order)
    torch_layers = [m for m in side.G.main if isinstance(m, nn.Module)]
    for i in range(1, steps):
        add("G", layers[f"deconv{i}"], torch_layers[3 * (i - 1)])
        add("G", layers[f"deconv{i}_bn"], torch_layers[3 * (i - 1) + 1])
    add("G", layers[f"deconv{steps}"], torch_layers[3 * (steps - 1)])

    layers = {layer.name: layer for layer in discriminator.layers}
    convs = [m for m in side.D if isinstance(m, nn.Conv2d)]
    norms = [m for m in side.D if isinstance(m, nn.BatchNorm2d)]
    for i, conv in enumerate(convs, start=1):
        add("D", layers[f"conv{i}"], conv)
        if i > 1:
            add("D", layers[f"conv{i}_bn"], norms[i - 2])
    width = config.discriminator_width * 2 ** (len(convs) - 1)
    linear = [m for m in side.D if isinstance(m, nn.Linear)][0]
    add("D", layers["probability"], linear, nhwc_to_nchw_order(base, width), rows=True)
    return pairs


def port_weights(pairs: list) -> None:
    """Copies every Keras value into its torch tensor (shapes checked)."""
    import torch

    with torch.no_grad():
        for pair in pairs:
            value = pair.keras_value()
            if tuple(value.shape) != tuple(pair.torch.shape):
                shape = tuple(pair.torch.shape)
                raise ValueError(f"{pair.name}: Keras {value.shape} -> torch {shape}")
            pair.torch.copy_(torch.from_numpy(np.array(value, np.float32)))
            # (float64 sides: the float32 values, exactly)


def keras_slots(gan, pair: Pair):
    """(m, v) of a Keras weight in its model's Adam."""
    model = gan.discriminator if pair.optimizer == "D" else gan.combined
    optimizer = model.optimizer
    index = optimizer._get_variable_index(pair.keras)
    return optimizer._momentums[index], optimizer._velocities[index]


def relative(a, b) -> float:
    """max |a - b| / max |b| (b the library's), elementwise over a tensor."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if b.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def library_state(gan, pairs: list) -> dict:
    """Every weight, Adam slot ("/m", "/v") and BatchNorm moving statistic
    of the library's models, by name, in torch's layout."""
    out = {}
    for pair in pairs:
        out[pair.name] = pair.keras_value()
        if pair.kind == "weight":
            m, v = keras_slots(gan, pair)
            out[f"{pair.name}/m"] = pair.keras_value(m)
            out[f"{pair.name}/v"] = pair.keras_value(v)
    return out


def torch_state(side: TorchSide, pairs: list) -> dict:
    """The same as `library_state`, of a PyTorch side."""
    out = {}
    for pair in pairs:
        out[pair.name] = pair.torch.detach().numpy()
        if pair.kind == "weight":
            optimizer = side.optD if pair.optimizer == "D" else side.optG
            slots = optimizer.state.get(pair.torch, {})
            for slot, key in (("m", "exp_avg"), ("v", "exp_avg_sq")):
                value = slots.get(key)
                out[f"{pair.name}/{slot}"] = (
                    np.zeros(pair.torch.shape) if value is None else value.numpy()
                )
    return out


def state_differences(state: dict, library: dict) -> dict:
    """`relative` difference of each tensor of `state` to `library`'s."""
    return {name: relative(state[name], value) for name, value in library.items()}


def group_of(name: str) -> str:
    """The group of a tensor name: G weights, D Adam v, G BatchNorm moving
    stats, ..."""
    parts = name.split("/")
    net = parts[0]
    if parts[2] in ("moving_mean", "moving_variance"):
        return f"{net} BatchNorm moving stats"
    if len(parts) == 4:
        return f"{net} Adam {parts[3]}"
    return f"{net} weights"


# --------------------------------------------------------------------------
# The library's side and the lockstep run.


def build_library(config, library: str = "composite"):
    """The library's GAN with its real train step, recording each step's z."""
    from keras_dcgan.composite import CompositeDCGAN
    from keras_dcgan.dcgan import DCGAN

    gan = (CompositeDCGAN if library == "composite" else DCGAN)(config)
    make_fakes = gan.make_fakes

    def recording_make_fakes():
        z, fakes = make_fakes()
        gan.parity_z = np.asarray(z)
        return z, fakes

    gan.make_fakes = recording_make_fakes
    return gan


def real_batches(images, batch_size: int, seed: int):
    """The library's own batches (`epoch_batches`), epoch after epoch."""
    from keras_dcgan.data import epoch_batches

    epoch = 0
    while True:
        for batch in epoch_batches(images, batch_size, seed, epoch):
            yield batch.numpy()
        epoch += 1


def scaling_mismatches() -> int:
    """uint8 levels whose float32 value in the library's pipeline
    (`to_float`) differs, bit for bit, from the reference's
    (`quality_torch.py`: x / 127.5 - 1 in NumPy float32)."""
    import tensorflow as tf

    from keras_dcgan.data import to_float

    levels = np.arange(256, dtype=np.uint8)
    library = to_float(tf.constant(levels)).numpy()
    reference = levels.astype(np.float32) / 127.5 - 1.0
    return int(np.sum(library.view(np.uint32) != reference.view(np.uint32)))


def load_real_images(config, data: str | None):
    from keras_dcgan.data import load_images

    return load_images(config.image_size, config.channels, data=data)


def forward_differences(gan, side: TorchSide, real: np.ndarray, z: np.ndarray) -> dict:
    """G(z) and D(x) of both, batch statistics, right after the port (the
    check of the port itself; the moving statistics are not touched)."""
    import torch

    saved = [(m, m.momentum) for m in side.G.modules() if hasattr(m, "momentum")]
    saved += [(m, m.momentum) for m in side.D.modules() if hasattr(m, "momentum")]
    for module, _ in saved:
        module.momentum = 0.0
    try:
        with torch.no_grad():
            side.G.train()
            side.D.train()
            z_t = torch.from_numpy(z).to(side.dtype)
            real_t = torch.from_numpy(real.transpose(0, 3, 1, 2).copy()).to(side.dtype)
            fake_t = side.G(z_t).numpy().transpose(0, 2, 3, 1)
            d_t = side.D(real_t).numpy()
    finally:
        for module, momentum in saved:
            module.momentum = momentum
    fake_k = _forward_no_update(gan.generator, z)
    d_k = _forward_no_update(gan.discriminator, real)
    return {"G(z)": relative(fake_t, fake_k), "D(x)": relative(d_t[:, 0], d_k[:, 0])}


def _forward_no_update(model, x):
    """model(x, training=True) with its moving statistics put back."""
    stats = [v for v in model.non_trainable_variables]
    saved = [np.asarray(v) for v in stats]
    out = np.asarray(model(x, training=True))
    for variable, value in zip(stats, saved):
        variable.assign(value)
    return out


def _entry(recipe) -> dict:
    return {
        "recipe": dataclasses.asdict(recipe) if recipe else None,
        "scalars": {k: [] for k in SCALARS},  # per step
        "state": {},  # step -> group -> max relative difference
        "first_drift": None,
    }


def _record(entry, step, values, reference, state, reference_state, tolerance, steps):
    """Adds one step's differences to a report entry; notes the first
    quantity beyond `tolerance` (the largest, if several at once)."""
    drifted = []
    entry.setdefault("values", []).append(values)
    for key in SCALARS:
        diff = relative(values[key], reference[key])
        entry["scalars"][key].append(diff)
        if diff > tolerance:
            drifted.append((key, diff))
    if state is not None:
        tensors = state_differences(state, reference_state)
        groups = {}
        for tensor, diff in tensors.items():
            group = group_of(tensor)
            groups[group] = max(groups.get(group, 0.0), diff)
        entry["state"][step] = groups
        worst = max(tensors.items(), key=lambda item: item[1])
        if worst[1] > tolerance:
            drifted.append(worst)
        if step == steps:
            entry["final_tensors"] = tensors
    if entry["first_drift"] is None and drifted:
        key, diff = max(drifted, key=lambda item: item[1])
        entry["first_drift"] = {"step": step, "quantity": key, "relative": diff}


def run_parity(
    config,
    steps: int,
    variants: dict | None = None,
    library: str = "composite",
    data: str | None = None,
    tolerance: float = TOLERANCE,
    state_every: int = 1,
    log=None,
) -> dict:
    """Trains the library and each PyTorch variant in lockstep from the same
    weights, batches and z; returns the report (see `main`).

    Args:
        config: `DCGANConfig` (preset "dcgan", equal G and D widths).
        steps: Training steps.
        variants: name -> `TorchRecipe` (default: `VARIANTS`).
        library: "composite" (`CompositeDCGAN`) or "dcgan" (`DCGAN`).
        data: An array file of images, or None for the offline digits.
        tolerance: Relative difference above which a quantity has drifted.
        state_every: Compare the full state every this many steps (always
            in the first 10 and after the last).
        log: Callable for progress lines, or None.
    """
    variants = VARIANTS if variants is None else variants
    set_deterministic(config.seed)
    gan = build_library(config, library)
    sides = {}
    for name, recipe in variants.items():
        side = TorchSide(config, recipe)
        pairs = parameter_pairs(gan.generator, gan.discriminator, side)
        port_weights(pairs)
        side.build_optimizers()
        sides[name] = (side, pairs)
    images = load_real_images(config, data)
    batches = real_batches(images, config.batch_size, config.seed)
    report = {
        "steps": steps,
        "tolerance": tolerance,
        "library": library,
        "config": {
            k: getattr(config, k)
            for k in (
                "image_size",
                "latent_dim",
                "generator_width",
                "discriminator_width",
                "batch_size",
                "learning_rate",
                "beta_1",
                "seed",
            )
        },
        "data": images.description,
        "scaling_mismatches": scaling_mismatches(),
        "library_logs": [],
        "variants": {},
    }
    for name, (side, _) in sides.items():
        report["variants"][name] = _entry(side.recipe)
    sides_pairs = next(iter(sides.values()))[1]
    noise = None
    if all(name in sides for name in NOISE_FLOOR):
        noise = report["noise_floor"] = _entry(None)
    start = time.time()
    for step in range(1, steps + 1):
        real = next(batches)
        if step == 1:
            z_probe = (
                np.random.default_rng(config.seed)
                .standard_normal((config.batch_size, config.latent_dim))
                .astype(np.float32)
            )
            for name, (side, _) in sides.items():
                report["variants"][name]["port"] = forward_differences(
                    gan, side, real, z_probe
                )
        logs = {k: float(v) for k, v in gan.train_step(real).items()}
        report["library_logs"].append({k: logs[k] for k in SCALARS})
        z = gan.parity_z
        full = step <= 10 or step == steps or step % state_every == 0
        library = library_state(gan, sides_pairs) if full else None
        values, states = {}, {}
        for name, (side, pairs) in sides.items():
            values[name] = side.step(real, z)
            states[name] = torch_state(side, pairs) if full else None
            _record(
                report["variants"][name],
                step,
                values[name],
                logs,
                states[name],
                library,
                tolerance,
                steps,
            )
        if noise is not None:
            exact = NOISE_FLOOR[1]
            _record(
                noise,
                step,
                values[NOISE_FLOOR[0]],
                values[exact],
                states[NOISE_FLOOR[0]],
                states[exact],
                tolerance,
                steps,
            )
        if log and (step in (1, steps) or step % 25 == 0):
            log(f"step {step}/{steps}: {time.time() - start:.0f} s")
    report["seconds"] = time.time() - start
    z_eval = (
        np.random.default_rng(config.seed + 1)
        .standard_normal((EVAL_SAMPLES, config.latent_dim))
        .astype(np.float32)
    )
    library_samples = np.asarray(gan.generator(z_eval, training=False))
    for name, (side, _) in sides.items():
        report["variants"][name]["eval_samples"] = sample_differences(
            side, z_eval, library_samples
        )
    return report


def sample_differences(side: TorchSide, z: np.ndarray, library: np.ndarray) -> dict:
    """Inference-mode samples (moving statistics, how both are sampled) of
    a torch side against the library's, in [-1, 1] and in uint8 levels."""
    import torch

    side.G.eval()
    with torch.no_grad():
        x = side.G(torch.from_numpy(z).to(side.dtype)).numpy().transpose(0, 2, 3, 1)
    side.G.train()
    diff = np.abs(x.astype(np.float64) - library)
    levels = np.abs(to_uint8_levels(x) - to_uint8_levels(library))
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "uint8_max": int(levels.max()),
        "uint8_mean": float(levels.mean()),
    }


def to_uint8_levels(images) -> np.ndarray:
    """As keras_dcgan.data.to_uint8 (and quality_torch.py) write samples."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.int64)


# --------------------------------------------------------------------------
# Report.


def summary_lines(report: dict, checkpoints=(1, 2, 3, 5, 10, 20, 50, 100, 200)):
    """Plain-text summary: first drift per variant, then per-step maxima."""
    steps = report["steps"]
    marks = [s for s in checkpoints if s <= steps]
    if steps not in marks:
        marks.append(steps)
    lines = [
        f"{report['library']} vs PyTorch, {steps} steps, tolerance "
        f"{report['tolerance']:g} relative, {report['config']}, {report['data']}",
        "",
        "variant | port G(z), D(x) | first scalar beyond tolerance "
        "| first quantity beyond tolerance",
    ]
    entries = dict(report["variants"])
    if "noise_floor" in report:
        entries["noise floor: torch float32 vs float64"] = report["noise_floor"]
    for name, entry in entries.items():
        drift = entry["first_drift"]
        port = entry.get("port")
        port = f"{port['G(z)']:.1e}, {port['D(x)']:.1e}" if port else "-"
        scalar = first_scalar_drift(entry, report["tolerance"])
        scalar = "none" if scalar is None else f"step {scalar[0]}: {scalar[1]}"
        where = (
            "none"
            if drift is None
            else f"step {drift['step']}: {drift['quantity']} ({drift['relative']:.2e})"
        )
        lines.append(f"{name} | {port} | {scalar} | {where}")
    for name, entry in entries.items():
        lines += [
            "",
            f"{name}: max relative difference at step " + ", ".join(map(str, marks)),
        ]
        for key in SCALARS:
            row = [entry["scalars"][key][s - 1] for s in marks]
            lines.append(f"  {key:32s} " + " ".join(f"{v:8.1e}" for v in row))
        groups = sorted({g for state in entry["state"].values() for g in state})
        for group in groups:
            row = []
            for s in marks:
                state = entry["state"].get(s)
                row.append(f"{state[group]:8.1e}" if state else "       -")
            lines.append(f"  {group:32s} " + " ".join(row))
    return lines


def first_scalar_drift(entry: dict, tolerance: float):
    """(step, name) of the first of the step's scalars beyond `tolerance`."""
    for i in range(len(entry["scalars"][SCALARS[0]])):
        for key in SCALARS:
            if entry["scalars"][key][i] > tolerance:
                return i + 1, key
    return None


def machine() -> dict:
    import tensorflow as tf
    import torch

    model, flags = platform.processor(), []
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = value.split()
            break
    wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "tensorflow": tf.__version__,
        "torch": torch.__version__,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--width", type=int, default=64, help="G and D widths")
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="array file (default: digits)")
    parser.add_argument(
        "--library", choices=("composite", "dcgan"), default="composite"
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=sorted(VARIANTS),
        default=list(VARIANTS),
        help="PyTorch recipes to run (default: all)",
    )
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--state-every", type=int, default=1)
    parser.add_argument("--json", help="write the full report here")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras_dcgan  # noqa: F401  (first: it picks TensorFlow's CPU kernels)
    from keras_dcgan.config import DCGANConfig

    config = DCGANConfig(
        image_size=28,
        channels=1,
        latent_dim=args.latent,
        generator_width=args.width,
        discriminator_width=args.width,
        batch_size=args.batch,
        seed=args.seed,
    )
    report = run_parity(
        config,
        args.steps,
        {name: VARIANTS[name] for name in args.variants},
        args.library,
        args.data,
        args.tolerance,
        args.state_every,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    report["machine"] = machine()
    print("\n".join(summary_lines(report)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
