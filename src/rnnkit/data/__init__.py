"""Data for the tasks: MNIST from its IDX files (``mnist``) and generated series (``synthetic``)."""
