"""How a ``LayerCell`` declares its TF variables, written once: ``tf_params`` spells a ``_tf_params`` table from
TF's names, ``norm_params`` the ``gamma``/``beta`` pairs of contrib's layer norms, and ``KernelBias`` is the
declaration of the commonest layout (``kernel``, then ``bias``); ``glorot_uniform_`` is TF's default initialiser of
their kernels.

A ``_tf_params`` table holds ``(TF name relative to the cell scope, attribute name)`` pairs in TF's creation
order; ``named_tf_variables`` and the checkpoint loaders read it (``LayerCell`` in ``cells/base.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = ["KernelBias", "glorot_uniform_", "norm_params", "tf_params"]

TFParams = tuple[tuple[str, str], ...]


def tf_params(spec: str) -> TFParams:
    """A ``_tf_params`` table from TF names separated by white space, in TF's creation order.

    Each parameter's attribute is its TF name with ``/`` replaced by ``_`` (``gates/kernel`` → ``gates_kernel``)
    unless the entry names it after ``=`` (``w_ru=gates_kernel``): the attributes keep rnnkit's names where
    TF's scopes differ between cells of the same math.

    >>> tf_params("kernel gates/bias w_ru=gates_kernel")
    (('kernel', 'kernel'), ('gates/bias', 'gates_bias'), ('w_ru', 'gates_kernel'))
    """
    pairs = []
    for entry in spec.split():
        name, _, attr = entry.partition("=")
        pairs.append((name, attr or name.replace("/", "_")))
    return tuple(pairs)


def norm_params(scopes: Iterable[str]) -> TFParams:
    """contrib's layer norm creates ``gamma`` then ``beta`` in a scope named after what it normalises:
    ``input/gamma``, ``input/beta``, ... (attributes ``input_gamma``, ``input_beta``, ...)."""
    return tf_params(" ".join(f"{scope}/gamma {scope}/beta" for scope in scopes))


class KernelBias:
    """Mixin of a cell whose TF variables are ``kernel`` then ``bias`` (BasicRNN, BasicLSTM, UGRNN, SRU...).

    List it before ``LayerCell`` in the bases, so its ``_tf_params`` wins over the base's empty one.
    """

    _tf_params = tf_params("kernel bias")
    # Set by _finish_init/build (None until built); declared for the type checker.
    kernel: torch.Tensor
    bias: torch.Tensor


def glorot_uniform_(tensor: torch.Tensor) -> torch.Tensor:
    """TF's default ``glorot_uniform_initializer``: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).

    For a 1-D shape ``[n]`` TF takes fan_in = fan_out = n (used by the LSTM peephole diagonals).
    """
    if tensor.dim() == 1:
        fan_in = fan_out = tensor.shape[0]
    else:
        fan_in, fan_out = tensor.shape[-2], tensor.shape[-1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-limit, limit)
