"""CUDA kernels: `@cuda.jit` kernels and their host launchers over Numba device arrays, with
the names and signatures of `nbkeras.kernels.cpu` (declared in `nbkeras.kernels.api`).
Imported only when a Tensor or Variable is placed on "cuda"."""
