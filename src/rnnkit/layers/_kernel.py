"""One call of torch's fused RNN kernel over a time-major sequence, with TF's cuDNN ``sequence_lengths`` rule."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["KernelSpec", "run_kernel"]


class KernelSpec(NamedTuple):
    mode: str  # "lstm" | "gru" | "rnn_tanh" | "rnn_relu": the name of the torch._VF kernel
    num_layers: int
    dropout: float
    bidirectional: bool


def _call(
    spec: KernelSpec, weights: list, x: Any, batch_sizes: torch.Tensor | None, hx: list, train: bool
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    args = (weights, True, spec.num_layers, spec.dropout, train, spec.bidirectional)
    fn = getattr(_VF, spec.mode)
    state: Any = tuple(hx) if spec.mode == "lstm" else hx[0]
    if batch_sizes is None:
        result = fn(x, state, *args, False)
    else:
        result = fn(x, batch_sizes, state, *args)
    return result[0], tuple(result[1:])


def run_kernel(
    spec: KernelSpec,
    weights: list[torch.Tensor],
    x: torch.Tensor,
    hx: list[torch.Tensor],
    lengths: torch.Tensor | None,
    train: bool,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run ``x [T, B, D]`` from the states ``hx`` (each ``[layers*dirs, B, H]``) → ``(outputs, final states)``.

    With ``lengths`` ``[B]`` the kernel sees only the steps within each row's length (a packed sequence, which is
    TF's cuDNN semantics: zero outputs past the length, the state at the last step, the backward direction
    reversed over the row's own length). Packed sequences refuse length 0: such rows run one step on zeros and
    are then replaced by zero outputs and their initial state (``torch.where``: no gradient through that step).
    """
    time = x.shape[0]
    if lengths is None or bool((lengths == time).all()):
        return _call(spec, weights, x, None, hx, train)
    empty = lengths.view(1, -1, 1) == 0
    x = torch.where(empty, torch.zeros((), dtype=x.dtype, device=x.device), x)
    packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    assert order is not None and unorder is not None  # enforce_sorted=False always sets both
    data, final = _call(
        spec,
        weights,
        packed.data,
        packed.batch_sizes,
        [h.index_select(1, order) for h in hx],
        train,
    )
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, unorder), total_length=time
    )
    final = tuple(s.index_select(1, unorder) for s in final)
    out = torch.where(empty, torch.zeros((), dtype=out.dtype, device=out.device), out)
    return out, tuple(torch.where(empty, h0, s) for h0, s in zip(hx, final))
