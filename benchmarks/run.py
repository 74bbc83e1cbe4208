"""The benchmark suite: nbkeras next to PyTorch (CPU) and Keras 3 on JAX, in one process.

    python benchmarks/run.py [--threads 2] [--quick] [--output benchmarks/RESULTS.md]

Every framework runs at the same thread count (Numba, the BLAS under numpy and Numba via
threadpoolctl, torch; XLA through XLA_FLAGS). Each case warms up before timing and reports
nbkeras's first call (compile or cache load) apart. Prints a table of ratios nbkeras / peer
as speeds (> 1 means nbkeras is faster) and writes it, with the date and the machine, to
RESULTS.md.
A framework that is not installed gets "-".
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None) -> argparse.Namespace:
    """--threads, --quick and --output from `argv` (default: the command line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__),
                                                         "RESULTS.md"))
    return parser.parse_args(argv)


def _number(value: float | None, digits: int = 2) -> str:
    """A table cell: "-" for a missing value, else `digits` decimals below 100."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:.0f}"


def table(rows) -> str:
    """The rows as a Markdown table: values, ratios nbkeras / peer, nbkeras compile time."""
    from cases import PEERS

    head = ["benchmark", "unit", "nbkeras", *PEERS, *(f"nbkeras/{p}" for p in PEERS),
            "nbkeras first call s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.name, row.unit, _number(row.values.get("nbkeras")),
                 *(_number(row.values.get(p)) for p in PEERS),
                 *(_number(row.ratio(p)) for p in PEERS), _number(row.compile_s)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine(threads: int, load_before: tuple[float, ...]) -> str:
    """A Markdown list describing the machine, versions, BLAS and load."""
    import numba
    import numpy
    import threadpoolctl

    import llvmlite.binding
    from nbkeras.kernels.cpu.blas import gemm_library

    model, flags = "unknown", set()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            lines = handle.read().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines
                      if line.startswith("model name")), model)
        flags = set(next((line.split(":", 1)[1].split() for line in lines
                          if line.startswith("flags")), []))
    vectors = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "-"
    blas = "; ".join(f"{i['internal_api']} {i.get('version')} ({i['user_api']}, "
                     f"{i['num_threads']} threads, {os.path.basename(i['filepath'])}"
                     + (f", core {i['architecture']}" if i.get("architecture") else "") + ")"
                     for i in threadpoolctl.threadpool_info()) or "none found"
    kernels_gemm = gemm_library()
    return "\n".join([
        f"- CPU: {model} ({llvmlite.binding.get_host_cpu_name()} to LLVM; {vectors}); "
        f"{os.cpu_count()} logical cores; {platform.platform()}",
        f"- Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"numba {numba.__version__}, "
        + ", ".join(f"{name} {_version(name)}" for name in ("torch", "keras", "jax")),
        f"- BLAS and thread pools (threadpoolctl, during the run): {blas}; the kernels' gemm: "
        + (os.path.basename(kernels_gemm.filepath) if kernels_gemm else "SciPy's"),
        f"- threads: {threads}; load average before: {_load(load_before)}, "
        f"after: {_load(os.getloadavg())} (the machine is shared: other processes compete "
        "for the cores, so compare runs made under similar load)",
    ])


def _version(distribution: str) -> str:
    """The installed version of `distribution`, or "not installed"."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _load(load: tuple[float, ...]) -> str:
    """The 1/5/15-minute load averages as text."""
    return " / ".join(f"{x:.2f}" for x in load) + " (1/5/15 min)"


def main(argv=None) -> list:
    args = parse_args(argv)
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                          f"intra_op_parallelism_threads={args.threads}")
    import threadpoolctl

    import cases
    import kernels
    import nbkeras as nk
    import ops

    keras = cases.load_keras_jax()
    torch = cases.load_torch(args.threads)
    load_before = os.getloadavg()
    previous = nk.config.get_num_threads()
    repeats = 3 if args.quick else 20
    with threadpoolctl.threadpool_limits(limits=args.threads):
        nk.config.set_num_threads(args.threads)
        try:
            rows = [*cases.convnet_rows(128, repeats, torch, keras),
                    *cases.mnist1d_rows(0.9, 60, 100, None, torch),
                    *cases.op_rows(128, repeats, torch),
                    *ops.ops_rows(1.0, repeats, torch),
                    *cases.dispatch_rows(20, repeats, torch, keras),
                    *cases.import_rows(3, torch),
                    *cases.first_step_rows(args.threads)]
            description = machine(args.threads, load_before)
        finally:
            nk.config.set_num_threads(previous)
    roof, kernel_rows = kernels.measure(args.threads, repeats)
    text = table(rows)
    kernel_text = kernels.table(roof, kernel_rows, args.threads)
    print(f"{text}\n\n{kernel_text}")
    print("Ratios are nbkeras / peer as speeds: > 1 means nbkeras is faster.")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(args.output, "w") as handle:
        handle.write(f"# Benchmark results\n\n{now}, `python benchmarks/run.py --threads "
                     f"{args.threads}{' --quick' if args.quick else ''}`\n\n{description}\n\n"
                     f"{text}\n\nRatios are nbkeras / peer as speeds: > 1 means nbkeras is "
                     "faster. samples/s: higher is better; s and ms: lower is better. "
                     "'nbkeras first call' is the warm-up (Numba compile or cache load; for "
                     "MNIST-1D one whole epoch of a throw-away model), not included in the "
                     f"value.\n\n## Kernels (`python benchmarks/kernels.py`)\n\n{kernel_text}\n")
    return rows


if __name__ == "__main__":
    main()
