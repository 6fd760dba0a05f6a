"""The one skip marker for tests that need rnnkit's native library (``rnnkit/kernels/native.py``): where it cannot
load (``RNNKIT_NATIVE=0``, no C compiler) they skip with the loader's reason instead of failing."""

from __future__ import annotations

import pytest

from rnnkit.kernels import native

needs_native = pytest.mark.skipif(
    native.library() is None, reason=f"native loops unavailable: {native.unavailable_reason()}"
)
