"""The training loop: compile / fit / evaluate / predict (mixed into Model)."""
from .trainer import Trainer  # noqa: F401
