"""TF1's ``tf.layers.Dense`` in TF's layout, and the helpers that give layers and cells their TF names.

``Dense`` is what TF 1.15's seq2seq code creates internally (``memory_layer``, ``query_layer``,
``attention_layer``) and what TF1 programs pass as a decoder's ``output_layer``. Its kernel is stored
``[in, units]`` (TF's layout; ``torch.nn.Linear.weight`` is ``[units, in]``), so a TF checkpoint maps onto it
without transposes. Any torch module (``nn.Linear``...) may be passed where TF took a layer; only modules with
a ``named_tf_variables`` method show up in ``rk.tf_variables``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, describe
from ..activations import resolve_activation
from ..cells.base import glorot_uniform_
from ..cells.lazy import adopt, placeholder, unbuilt

__all__ = ["Dense", "module_tf_variables", "unique_scope_names"]

NamedVariables = Iterator[tuple[str, "nn.Parameter | None"]]


def module_tf_variables(module: Any, prefix: str) -> NamedVariables:
    """``module.named_tf_variables(prefix)`` (cells, ``Dense``...); nothing for plain torch modules."""
    named = getattr(module, "named_tf_variables", None)
    if named is None:
        return iter(())
    result: NamedVariables = named(prefix)
    return result


def unique_scope_names(base_names: Iterable[str]) -> list[str]:
    """TF's ``variable_scope(None, default_name=...)`` rule: the second scope of a name gets ``_1``, then ``_2``...

    e.g. ``["memory_layer", "memory_layer"] -> ["memory_layer", "memory_layer_1"]``.
    """
    seen: dict[str, int] = {}
    result = []
    for name in base_names:
        count = seen.get(name, 0)
        result.append(name if count == 0 else f"{name}_{count}")
        seen[name] = count + 1
    return result


class Dense(nn.Module):
    r"""``tf.layers.Dense``: ``y = act(x @ kernel + bias)`` on the last axis.

    Args:
        units: output depth ``U``.
        activation: optional callable or TF name (``"tanh"``...); default none (linear).
        use_bias: whether to add ``bias [U]`` (zeros at creation).
        name: the TF scope of the layer (``dense`` by default, as TF's).
        input_size: the input depth ``D``; when omitted the kernel is created by the first call.
        dtype, device: of the parameters (default: the first input's).

    Parameters (TF names): ``{name}/kernel [D, U]`` (glorot-uniform), ``{name}/bias [U]``.

    Shape: ``[..., D] -> [..., U]``.
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        name: str = "dense",
        input_size: int | None = None,
        dtype: torch.dtype | None = None,
        device: Any = None,
    ) -> None:
        super().__init__()
        where = "Dense"
        self.units = check_positive_int(where, "units", units)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{where}: expected name to be a non-empty str, got {describe(name)}")
        self.tf_name = name
        self.use_bias = bool(use_bias)
        self._activation: Callable[[torch.Tensor], torch.Tensor] | None = (
            None if activation is None else resolve_activation(where, activation)[0]
        )
        # Placeholders until the input depth is known (cells/lazy.py): parameters() lists them, so an optimizer
        # made before the first call trains them once they are built.
        self.kernel: nn.Parameter | None = placeholder()
        self.bias: nn.Parameter | None = placeholder() if self.use_bias else None
        self.input_size: int | None = None
        if input_size is not None:
            self.build(input_size, dtype=dtype, device=device)

    @property
    def out_features(self) -> int:
        """``units``, under ``torch.nn.Linear``'s name (what the attention wrapper reads)."""
        return self.units

    def build(self, input_size: int, dtype: torch.dtype | None = None, device: Any = None) -> None:
        """Create ``kernel [input_size, units]`` (and ``bias``) unless they exist."""
        check_positive_int("Dense.build", "input_size", input_size)
        if self.input_size is not None:
            if input_size != self.input_size:
                raise ValueError(
                    f"Dense.build: expected input_size {self.input_size} (layer {self.tf_name!r} is built), got {input_size}"
                )
            return
        dtype = dtype or torch.get_default_dtype()
        kernel = torch.empty(input_size, self.units, dtype=dtype, device=device)
        self.kernel = adopt(self.kernel, nn.Parameter(glorot_uniform_(kernel)))
        if self.use_bias:
            bias = nn.Parameter(torch.zeros(self.units, dtype=dtype, device=device))
            self.bias = adopt(self.bias, bias)
        self.input_size = input_size

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs [..., D]`` -> ``[..., units]``."""
        if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1:
            raise TypeError(
                f"Dense: expected a tensor [..., D] (layer {self.tf_name!r}), got {describe(inputs)}"
            )
        if unbuilt(self.kernel):
            self.build(inputs.shape[-1], dtype=inputs.dtype, device=inputs.device)
        elif inputs.shape[-1] != self.input_size:
            raise ValueError(
                f"Dense: expected inputs of depth {self.input_size} (layer {self.tf_name!r}), got shape "
                f"{tuple(inputs.shape)}"
            )
        kernel = self.kernel
        assert kernel is not None  # built above
        out = (
            inputs @ kernel
            if self.bias is None
            else torch.addmm(self.bias, inputs.reshape(-1, inputs.shape[-1]), kernel).reshape(
                *inputs.shape[:-1], self.units
            )
        )
        return out if self._activation is None else self._activation(out)

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        """``({prefix}{name}/kernel, parameter or None)`` then the bias, in TF's creation order."""
        yield f"{prefix}{self.tf_name}/kernel", None if unbuilt(self.kernel) else self.kernel
        if self.use_bias:
            yield f"{prefix}{self.tf_name}/bias", None if unbuilt(self.bias) else self.bias

    def extra_repr(self) -> str:
        return f"units={self.units}, input_size={self.input_size}, use_bias={self.use_bias}, name={self.tf_name!r}"
