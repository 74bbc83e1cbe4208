"""Metrics on "cuda": collected where CUDA can run (tests/devices.py has the rule)."""
from devices import cuda_only_ignore_glob

collect_ignore_glob = cuda_only_ignore_glob()
