#!/usr/bin/env bash
# The one prepared run for a machine with an NVIDIA GPU (the device tool's `run`, or any GPU
# box): install nbkeras with the cuda extra (from wheels carried in .whl/ where the machine
# has no package index), run the CUDA tests on the real GPU (a compute-sanitizer memcheck
# over the convolution and pooling tests where the tool exists; the product tests again
# through cuBLAS where CuPy installs), then benchmarks/gpu.py with the caching allocator, and
# its overheads without it.
# Prints everything; the figures go in the issue note.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv --system-site-packages /tmp/nbkeras-gpu
. /tmp/nbkeras-gpu/bin/activate
if [ -d .whl ]; then
  pip install -q --no-index --find-links .whl ".[test,cuda]"
else
  pip install -q ".[test,cuda]"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python -c "from nbkeras.core.device import cuda_unavailable_reason as r; print(r() or 'cuda: ready')"
python -c "from nbkeras.kernels.cuda import memory; print('allocator:', memory.active_allocator())"
python -m pytest -q -x -p no:cacheprovider tests/kernels tests/models/cuda tests/metrics/cuda
python -m pytest -q -x -p no:cacheprovider tests/ops tests/losses -k cuda
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 1 \
    python -m pytest -q -x -p no:cacheprovider tests/kernels/cuda/test_cuda_conv.py \
    tests/kernels/cuda/test_cuda_pooling.py
fi
if pip install -q ".[cuda-blas]" 2>/dev/null || python -c "import cupy" 2>/dev/null; then
  NBKERAS_CUDA_BLAS=cublas python -m pytest -q -x -p no:cacheprovider \
    tests/kernels/cuda/test_cuda_gemm.py tests/ops/test_matmul_ops.py -k "cuda or cublas"
fi
python benchmarks/gpu.py --batch-size 128 --steps 20
NBKERAS_CUDA_ALLOCATOR=numba python benchmarks/gpu.py --overheads     # the same costs without the pool
