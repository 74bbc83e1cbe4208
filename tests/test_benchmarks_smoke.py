"""The benchmark suite's cases run, at tiny sizes and one repeat; timings are never checked."""
from __future__ import annotations

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
import cases  # noqa: E402
import ops  # noqa: E402  (benchmarks/ops.py, not nbkeras.ops)
import run  # noqa: E402


@pytest.fixture(scope="module")
def torch():
    return cases.load_torch(1)


def _check(rows: list, peers: tuple[str, ...]) -> None:
    assert rows
    for row in rows:
        assert row.values["nbkeras"] > 0
        for peer in peers:
            assert row.values[peer] > 0 and row.ratio(peer) > 0


def test_ratio_is_a_speed_ratio():
    assert cases.Row("r", "samples/s", True, {"nbkeras": 4.0, "pytorch": 2.0}).ratio("pytorch") == 2
    assert cases.Row("t", "s", False, {"nbkeras": 4.0, "pytorch": 2.0}).ratio("pytorch") == 0.5
    assert cases.Row("t", "s", False, {"nbkeras": math.inf, "pytorch": 2.0}).ratio("pytorch") \
        is None
    assert cases.Row("t", "s", False, {"nbkeras": 1.0}).ratio("keras-jax") is None


def test_in_process_cases_run(torch):
    peers = ("pytorch",) if torch is not None else ()
    rows = [*cases.convnet_rows(batch=4, steps=1, torch=torch),
            *cases.mnist1d_rows(target=0.0, max_epochs=1, n_train=200, torch=torch),
            *cases.op_rows(batch=2, repeats=1, torch=torch),
            *ops.ops_rows(scale=0.001, repeats=1, torch=torch),
            *cases.dispatch_rows(depth=4, repeats=2, torch=torch)]
    _check(rows, peers)
    text = run.table(rows)
    assert text.count("\n") == len(rows) + 1 and "nbkeras/pytorch" in text


def test_recurrent_cases_run(torch):
    import recurrent

    rows = [*recurrent.recurrent_rows(batch=3, steps=2, features=2, units=4, repeats=1,
                                      torch=torch),
            *recurrent.lstm_product_rows(batch=3, steps=2, features=2, units=4, repeats=1,
                                         torch=torch)]
    _check(rows, ("pytorch",) if torch is not None else ())


def test_fresh_process_cases_run(torch):
    _check(cases.import_rows(repeats=1, torch=torch), ("pytorch",) if torch is not None else ())
    import cold_start

    script = cold_start._NBKERAS.format(bench=cold_start.BENCH, model="mnist1d", batch=4,
                                        threads=1, warmup=True)
    lines = cold_start.fresh_process_output(script)             # this run's (warm) cache
    assert lines[0].startswith("warmup call") and float(lines[0].split()[-1]) > 0
    assert float(lines[-1]) > 0
    if torch is not None:
        assert cold_start.peer_first_step("pytorch", "convnet", threads=1) > 0


def test_cold_compile_breakdown_names_the_kernels():
    import cold_start

    rows = cold_start.compile_breakdown("mnist1d", threads=1)       # an empty cache
    conv = next(r for r in rows if r["kernel"] == "conv._conv_forward_chunk")
    assert conv["total"] >= conv["typing"] > 0
    assert conv["lowering"] > 0 and conv["save"] > 0


def test_kernel_cases_run_and_tabulate():
    import kernels

    found = kernels.cases(batch=2)
    assert {case.name for case in found} >= {"conv forward (+bias, relu)", "conv backward-input",
                                             "conv backward-kernel", "max-pool forward",
                                             "max-pool backward", "batch-norm forward",
                                             "batch-norm backward"}
    rows = []
    for case in found:
        assert case.run() is not None
        assert (case.flops or case.nbytes) > 0
        rows.append({"name": case.name, "shape": case.shape, "ms": 1.0, "gflops": None,
                     "gbs": None, "roof_share": None, "compile_s": None, "load_s": None})
    text = kernels.table(100.0, rows, threads=1)
    assert text.count("\n") == len(rows) + 3 and "100.0 GFLOP/s" in text


def test_predict_buffers_times_both_ways():
    import numpy as np
    import predict_buffers

    model = predict_buffers.large_activation_cnn()
    batches = [np.random.default_rng(0).random((2, 96, 96, 3), dtype=np.float32)]
    assert all(predict_buffers.batch_milliseconds(model, batches, reuse) > 0
               for reuse in (False, True, True))
