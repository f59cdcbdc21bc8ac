"""The PyTorch reference networks (pytorch/examples' DCGAN, with a dense
projection like this library's generator), shared by the benchmarks that
compare keras_dcgan with it: `train_throughput.py` (speed) and
`quality_mnist.py` (sample quality)."""

import numpy as np

WIDTH = 64
LATENT = 100


def torch_models(size, channels, width=WIDTH, latent=LATENT):
    """(generator, discriminator) as torch modules, NCHW, PyTorch's BatchNorm
    defaults (eps 1e-5, momentum 0.1, as the Keras models)."""
    from torch import nn

    base = 7 if size == 28 else 4
    steps = int(np.log2(size // base))
    top = width * 2 ** (steps - 1)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(
                nn.Linear(latent, base * base * top, bias=False),
                nn.BatchNorm1d(base * base * top),
                nn.ReLU(True),
            )
            layers, w = [], top
            for _ in range(steps - 1):
                layers += [
                    nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(w // 2),
                    nn.ReLU(True),
                ]
                w //= 2
            layers += [nn.ConvTranspose2d(w, channels, 4, 2, 1), nn.Tanh()]
            self.main = nn.Sequential(*layers)

        def forward(self, z):
            return self.main(self.project(z).view(-1, top, base, base))

    layers, w, cin = [], width, channels
    for i in range(steps):
        layers.append(nn.Conv2d(cin, w, 4, 2, 1, bias=(i == 0)))
        if i:
            layers.append(nn.BatchNorm2d(w))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        cin, w = w, w * 2
    layers += [nn.Flatten(), nn.Linear(base * base * cin, 1), nn.Sigmoid()]
    return Generator(), nn.Sequential(*layers)


def weights_init(module):
    """pytorch/examples' init: conv N(0, 0.02); BatchNorm weight N(1, 0.02),
    bias 0. Linear layers get N(0, 0.02) and zero biases too, as the Keras
    models (the reference nets have none)."""
    from torch import nn

    name = module.__class__.__name__
    if "Conv" in name or "Linear" in name:
        nn.init.normal_(module.weight.data, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias.data)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight.data, 1.0, 0.02)
        nn.init.constant_(module.bias.data, 0)
