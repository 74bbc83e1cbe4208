"""The main job: `nbkeras-demo` (or `python -m nbkeras.demo`) trains the MNIST-1D paper CNN.

MNIST-1D (Greydanus, 2020) is regenerated offline by the `mnist1d` package and cached; the
CNN is the paper's: three Conv1D layers of 25 filters (kernel 5, stride 2, "same", ReLU),
Flatten, Dense 10; Adam 1e-2, batch 100. Prints a progress bar per epoch, then the test
accuracy next to the published MNIST-1D results.
"""
from __future__ import annotations

import argparse
import time

import nbkeras as nk
from nbkeras import layers

PUBLISHED = [("logistic regression", 0.32), ("MLP", 0.68), ("CNN", 0.94), ("GRU", 0.91),
             ("human", 0.96)]


def paper_cnn(length: int = 40) -> nk.Sequential:
    """The MNIST-1D CNN: (N, 40, 1) -> (N, 10) class probabilities."""
    return nk.Sequential(
        [nk.Input((length, 1))]
        + [layers.Conv1D(25, 5, strides=2, padding="same", activation="relu") for _ in range(3)]
        + [layers.Flatten(), layers.Dense(10, activation="softmax")], name="mnist1d_cnn")


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PATH", help="save the training curves as a PNG")
    args = parser.parse_args(argv)

    nk.config.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = nk.datasets.mnist1d.load_data()
    x_train, x_test = x_train[..., None], x_test[..., None]
    model = paper_cnn(x_train.shape[1])
    model.summary()
    model.compile(optimizer=nk.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print("Compiling the kernels (a first run only: later runs load them from Numba's cache) ...",
          end=" ", flush=True)
    print(f"{nk.utils.warmup(model, x_train[:2], y_train[:2]):.1f} s")
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_test, y_test), verbose=1)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nTrained {args.epochs} epochs in {seconds:.1f} s. MNIST-1D test accuracy:")
    for name, published in PUBLISHED:
        print(f"  {name:22s} {published:6.1%}  (published)")
    print(f"  {'nbkeras CNN':22s} {accuracy:6.1%}  (this run)")
    if args.plot:
        save_curves(history, args.plot)
        print(f"Training curves saved to {args.plot}")
    return accuracy


def command() -> None:
    """The `nbkeras-demo` command that installing the package adds: main() on the command
    line's arguments (its exit status 0, where main's accuracy would set 1)."""
    main()


def save_curves(history, path: str) -> None:
    """Loss and accuracy per epoch (training and validation) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(history.history[key], label=f"train {key}")
        ax.plot(history.history[f"val_{key}"], label=f"test {key}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
