"""VGG16 inference in nbkeras (nk.applications.VGG16) and in PyTorch (the same network in
plain torch.nn layers), side by side in one process on the CPU.

    python benchmarks/applications.py [--threads 2] [--batch-size 8] [--size 224] [--steps 3]

Random weights and random images (speed does not depend on their values); the full model
with its 1000-class top. Prints images/s for both and the ratio nbkeras / PyTorch.
"""
from __future__ import annotations

import argparse

import numpy as np

import nbkeras as nk
from mnist_convnet import rates

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))   # (filters, convolutions)


def torch_vgg16(torch, size: int):
    """VGG16 in torch.nn, (N, 3, size, size) -> (N, 1000) softmax, as keras's layout."""
    nn = torch.nn
    layers, channels = [], 3
    for filters, depth in VGG16_BLOCKS:
        for _ in range(depth):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    side = size // 32
    layers += [nn.Flatten(), nn.Linear(512 * side * side, 4096), nn.ReLU(),
               nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000), nn.Softmax(dim=1)]
    return nn.Sequential(*layers).eval()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    batch, size = args.batch_size, args.size
    x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype("float32")
    try:
        import torch
    except ImportError:
        torch = None
    model = nk.applications.VGG16(weights=None, input_shape=(size, size, 3))
    steps = {"nbkeras": lambda: model.predict_on_batch(x)}
    if torch is not None:
        torch.set_num_threads(args.threads)
        net = torch_vgg16(torch, size)
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy())

        def torch_predict():
            with torch.no_grad():
                net(tx)

        steps["pytorch"] = torch_predict
    previous = nk.config.get_num_threads()
    nk.config.set_num_threads(args.threads)
    try:
        results = rates(steps, batch, args.steps, rounds=3)
    finally:
        nk.config.set_num_threads(previous)
    print(f"VGG16 inference, {size}x{size}, batch {batch}, {args.threads} threads")
    for name, images in results.items():
        print(f"  {name:10s} {images:8.2f} images/s")
    if torch is not None:
        print(f"  {'ratio':10s} {results['nbkeras'] / results['pytorch']:8.2f}"
              "   (nbkeras / PyTorch; > 1 means nbkeras is faster)")
    return results


if __name__ == "__main__":
    main()
