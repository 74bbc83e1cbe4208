"""The CUDA linear-algebra kernels (kernels/cuda/linalg.py: the CPU kernels run on host copies
of device arrays) return device arrays holding what the CPU kernels return, for each kernel of
the API's linear-algebra section, batched, in float32 and float64."""
import importlib

import numpy as np
import pytest

from nbkeras.kernels.cuda.runtime import is_device_array, to_device, to_host

cpu = importlib.import_module("nbkeras.kernels.cpu.linalg")
cuda = importlib.import_module("nbkeras.kernels.cuda.linalg")

rng = np.random.default_rng(0)
SQUARE = rng.standard_normal((2, 3, 3)) + 5 * np.eye(3)
SPD = SQUARE @ np.swapaxes(SQUARE, -1, -2)
WIDE = rng.standard_normal((2, 3, 4))
RHS = rng.standard_normal((2, 3, 2))
CASES = [
    ("cholesky", (SPD, True)), ("cholesky", (SPD, False)), ("eigh", (SPD,)), ("eig", (SQUARE,)),
    ("svd", (WIDE, True, True)), ("svd", (WIDE, False, True)), ("svd", (WIDE, False, False)),
    ("qr", (WIDE, "reduced")), ("qr", (np.swapaxes(WIDE, -1, -2), "complete")),
    ("inv", (SQUARE,)), ("slogdet", (SQUARE,)), ("slogdet", (SQUARE[0],)),   # 0-d results
    ("solve", (SQUARE, RHS)),
    ("solve_triangular", (SQUARE, RHS, True)), ("lstsq", (WIDE[0].T, WIDE[1].T, None)),
    ("lu_factor", (WIDE,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,args", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_cuda_linalg_matches_cpu(name, args, dtype):
    host_args = [a.astype(dtype) if isinstance(a, np.ndarray) else a for a in args]
    device_args = [to_device(a) if isinstance(a, np.ndarray) else a for a in host_args]
    want = getattr(cpu, name)(*host_args)
    got = getattr(cuda, name)(*device_args)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert is_device_array(g)
        g = to_host(g)
        assert (g.shape, g.dtype) == (w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)     # the same LAPACK call
