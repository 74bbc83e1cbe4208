"""Time of `import nbkeras` in a fresh process (best of several), and what it pulls in.

    python benchmarks/import_time.py
"""
from __future__ import annotations

import subprocess
import sys

PROBE = ("import time, sys; t = time.perf_counter(); import nbkeras; "
         "print(time.perf_counter() - t, 'numba.cuda' in sys.modules, 'numba' in sys.modules)")


def main() -> float:
    runs = [subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(5)]
    best = min(float(r[0]) for r in runs)
    print(f"import nbkeras: {best * 1e3:.0f} ms (best of 5); imports numba.cuda: {runs[0][1]}; "
          f"imports numba: {runs[0][2]}")
    return best


if __name__ == "__main__":
    main()
