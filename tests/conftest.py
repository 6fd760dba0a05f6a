"""Test-suite settings: one thread (2 shared cores make 2-thread small kernels 2-5x slower), deterministic ops."""

import pytest
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def pytest_report_header(config) -> str:
    # CI runs the suite on the pinned torch and the fidelity tests on the newest (scripts/test_newest_torch.sh).
    return f"torch {torch.__version__}"


@pytest.fixture
def gen() -> torch.Generator:
    """A seeded generator for test data."""
    return torch.Generator().manual_seed(1234)
