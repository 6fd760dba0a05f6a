"""How many times a module-level function is called during a test (the function itself still runs)."""

from __future__ import annotations


def count_calls(monkeypatch, module, name):
    """``[n]``: how many times ``module.name`` is called from now on."""
    calls = [0]
    original = getattr(module, name)

    def counting(*args):
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(module, name, counting)
    return calls
