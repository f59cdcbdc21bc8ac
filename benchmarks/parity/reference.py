"""The PyTorch reference step (pytorch/examples' DCGAN step on the networks
of `benchmarks/torch_reference.py`) with one switch per `TorchRecipe` field:
Keras' Adam, Keras' BatchNorm moving variance, D's update, G's forward, the
loss. Every switch on the library's side computes the library's recipe."""

from __future__ import annotations

import numpy as np

from ..torch_reference import torch_models
from .recipe import TorchRecipe


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
    """The Adam of `recipe.adam` over `parameters` (beta_2 0.999 in all).

    Args:
        parameters: The network's parameters.
        recipe: Its `adam` picks Keras' Adam or torch.optim.Adam's epsilon.
        lr: Learning rate.
        beta_1: Adam's beta_1.
    """
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
        if recipe.g_forward == "twice":
            # As the library's G (`blocks.set_momentum_per_call`): two runs
            # a step at Keras momentum 0.9 ** 0.5 each, one 0.9 update.
            for module in self.G.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.momentum = 1 - 0.9**0.5
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
        """One training step; returns the step's scalars (`compare.SCALARS`)."""
        torch = self._torch
        real = torch.from_numpy(np.ascontiguousarray(real_nhwc.transpose(0, 3, 1, 2)))
        real = real.to(self.dtype)
        z = torch.from_numpy(np.array(z, np.float32)).to(self.dtype)
        real_label = 1.0 - self.config.label_smoothing
        self.G.train()
        self.D.train()
        if self.recipe.d_update == "summed":
            fake, err_real, p_real, err_fake = self._d_step_summed(real, z, real_label)
        else:
            fake, err_real, p_real, err_fake = self._d_steps_two(real, z, real_label)
        self.optG.zero_grad()
        fake_g = self.G(z) if self.recipe.g_forward == "twice" else fake
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

    def _d_step_summed(self, real, z, real_label: float):
        """pytorch/examples: one Adam step on the sum of both gradients."""
        self.optD.zero_grad()
        out_real, p_real = self._d(real)
        err_real = self._bce(out_real, real_label)
        err_real.backward()
        fake = self.G(z)
        out_fake, _ = self._d(fake.detach())
        err_fake = self._bce(out_fake, 0.0)
        err_fake.backward()
        self.optD.step()
        return fake, err_real, p_real, err_fake

    def _d_steps_two(self, real, z, real_label: float):
        """The library: `make_fakes`, then two `train_on_batch` calls."""
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
        return fake, err_real, p_real, err_fake
