"""Tensors, variables, the gradient tape, symbolic tensors and devices."""
