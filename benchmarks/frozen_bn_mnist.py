"""Which BatchNorm statistics should the frozen discriminator use?

Trains the same DCGAN on the 10,000 real MNIST images twice, once with
`frozen_bn_stats="batch"` (D's variables frozen, its BatchNorm on batch
statistics in the generator's step, as the PyTorch reference) and once with
"moving" (D's layers frozen, BatchNorm on moving averages, Keras' default),
then scores 1,000 samples of each with a small CNN classifier trained on the
same images:

- confidence: mean max softmax probability (sharp digits score near 1);
- classes covered: how many of the 10 digits the samples' labels spread over,
  as exp(entropy of the mean prediction) (10 = uniform over digits);
- classifier score: exp(E[KL(p(y|x) || p(y))]), the Inception Score with an
  MNIST classifier (1 = useless, 10 = sharp and balanced).

Usage (about 6 minutes on a 2-core CPU):

    python -m benchmarks.frozen_bn_mnist --data mnist_test_10k.npz \
        --work-dir /tmp/frozen_bn --epochs 10

Runs already in WORK_DIR are scored, not retrained.
"""

import argparse
import json
import os
import time

import numpy as np

from keras_dcgan import DCGANConfig, load_images, train
from keras_dcgan.generator.latent import generate, sample_latents
from keras_dcgan.quality.classifier import train_classifier
from keras_dcgan.quality.metrics import inception_score
from keras_dcgan.runs import load_generator


def scores(probabilities):
    """The classifier score (`keras_dcgan.quality.metrics.inception_score`
    on one split) and two readings of the same predictions."""
    p = np.clip(probabilities, 1e-12, 1.0)
    marginal = p.mean(axis=0)
    return {
        "confidence": float(p.max(axis=1).mean()),
        "classes_covered": float(np.exp(-np.sum(marginal * np.log(marginal)))),
        "classifier_score": inception_score(probabilities, splits=1)["value"],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data",
        required=True,
        help="MNIST as .npz with x (uint8 [N, 28, 28]) and y "
        "(labels), e.g. mnist_test_10k.npz (README)",
    )
    parser.add_argument("--work-dir", default="/tmp/frozen_bn")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()

    with np.load(args.data) as f:
        x_real, y_real = f["x"], f["y"]
    classifier, val_acc = train_classifier(x_real, y_real, epochs=4, seed=0)
    results = {
        "classifier_val_accuracy": float(val_acc),
        "real_images": scores(
            classifier.predict(x_real[: args.samples, ..., None], verbose=0)
        ),
    }
    images = load_images(28, 1, data=args.data)
    for mode in ("batch", "moving"):
        run = os.path.join(args.work_dir, f"mnist_{mode}")
        config = DCGANConfig(
            image_size=28,
            channels=1,
            epochs=args.epochs,
            batch_size=128,
            seed=0,
            frozen_bn_stats=mode,
        )
        seconds = None
        if not os.path.exists(os.path.join(run, "generator.keras")):
            start = time.time()
            train(config, images, run, overwrite=os.path.exists(run), verbose=2)
            seconds = time.time() - start
        generator = load_generator(run)
        fakes = generate(generator, sample_latents(args.samples, 100, seed=1))
        results[mode] = dict(
            scores(classifier.predict(fakes, verbose=0)), train_seconds=seconds
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
