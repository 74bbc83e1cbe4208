"""ProgbarLogger when stdout is a pipe (CI logs): one line per epoch, as Keras."""
import subprocess
import sys


def test_fit_into_a_pipe_prints_one_line_per_epoch_with_validation():
    """verbose=1 into a pipe: no carriage returns, no bar, one line per epoch carrying the
    validation logs; fit's validation adds no line of its own."""
    script = (
        "import numpy as np, nbkeras as nk\n"
        "m = nk.Sequential([nk.Input((3,)), nk.layers.Dense(1)])\n"
        "m.compile(optimizer='sgd', loss='mse', metrics=['mae'])\n"
        "x = np.ones((64, 3), 'float32'); y = np.ones((64, 1), 'float32')\n"
        "m.fit(x, y, epochs=3, batch_size=8, verbose=1, validation_data=(x[:16], y[:16]))\n")
    result = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, check=True)
    assert "\r" not in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in lines:
        assert all(f"{key}: " in line for key in ("loss", "mae", "val_loss", "val_mae"))
