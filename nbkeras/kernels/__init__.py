"""Kernel modules, one per device, exporting the same function names and signatures."""
