"""How far a part of Piper's decoder reads around each of its output samples, worked out from its graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any

import numpy as np

# Operators whose output sample reads only the same sample of their inputs.
_POINTWISE = frozenset(
    {"Add", "Sub", "Mul", "Div", "LeakyRelu", "Relu", "Tanh", "Sigmoid", "Neg", "Abs"}
)


def reach(
    nodes: Sequence[Any],
    start: str,
    end: str,
    weights: Mapping[str, Any],
    fixed: Sequence[str] = (),
) -> tuple[int, int] | None:
    """Samples of start either side that a sample of end reads (rounded up, one more), and end's samples per sample of start.

    start is [batch, channels, time]; fixed: tensors [batch, channels, 1] the same
    all along (a speaker's embedding). None unless every operator is a 1-D
    convolution that keeps the length (times its stride), pointwise, or an
    Unsqueeze that keeps time last, and all that a node reads runs at one rate.
    """
    rate: dict[str, int] = {start: 1}
    span: dict[str, float] = {start: 0.0}
    rank: dict[str, int] = {start: 3} | dict.fromkeys(fixed, 3)
    for node in nodes:
        read = [name for name in node.input if name in span]
        if not read:
            # Made from weights and fixed tensors alone: fixed too (cond(g)).
            if all(n in rank or n in weights or not n for n in node.input):
                shaped = [rank[n] for n in node.input if n in rank]
                rank.update(dict.fromkeys(node.output, max(shaped, default=0)))
            continue
        here = rate[read[0]]
        if any(rate[name] != here for name in read):
            return None
        wide = max(span[name] for name in read)
        if node.op_type in ("Conv", "ConvTranspose"):
            step = _convolution(node)
            if step is None or node.input[0] != read[0] or len(read) > 1:
                return None
            wide += step[0] / here
            here *= step[1]
            dims = rank[read[0]]
        elif node.op_type == "Unsqueeze":
            axes = _ints(node, "axes", weights)
            if node.input[0] != read[0] or not axes:
                return None
            dims = rank[read[0]] + len(axes)
            if any(a % dims == dims - 1 for a in axes):
                return None  # time no longer last
        elif node.op_type in _POINTWISE:
            # Broadcasting: as many axes as the widest input (a weight's own).
            ranks = [rank[n] if n in rank else len(weights[n].dims) if n in weights
                     else None for n in node.input]  # fmt: skip
            if None in ranks:
                return None  # made by a node we did not follow (a Constant)
            dims = max(r for r in ranks if r is not None)
        else:
            return None
        for name in node.output:
            rate[name], span[name], rank[name] = here, wide, dims
    if end not in span:
        return None
    return math.ceil(span[end]) + 1, rate[end]


def _convolution(node: Any) -> tuple[float, int] | None:
    """A 1-D convolution's reach in its input's samples and its stride; None unless the output is the input's length times the stride."""
    attrs = {a.name: a for a in node.attribute}
    if "auto_pad" in attrs and attrs["auto_pad"].s not in (b"", b"NOTSET"):
        return None
    if "output_shape" in attrs or "kernel_shape" not in attrs:
        return None

    def ints(name: str, default: list[int]) -> list[int]:
        return list(attrs[name].ints) if name in attrs else default

    shape = [
        ints(name, default)
        for name, default in (
            ("kernel_shape", []), ("dilations", [1]), ("strides", [1]),
            ("pads", [0, 0]), ("output_padding", [0]),
        )
    ]  # fmt: skip
    if [len(values) for values in shape] != [1, 1, 1, 2, 1]:
        return None  # not 1-D
    (kernel,), (dilation,), (stride,), (begin, finish), (extra,) = shape
    if node.op_type == "Conv":
        whole = (kernel - 1) * dilation
        if stride != 1 or begin + finish != whole:
            return None
        return max(begin, finish), 1
    if dilation != 1 or kernel + extra - begin - finish != stride:
        return None
    return math.ceil(max(begin, kernel - 1 - begin) / stride), stride


def _ints(node: Any, name: str, weights: Mapping[str, Any]) -> list[int]:
    """An operator's integers given as an attribute or, from opset 13, as a weight."""
    for attr in node.attribute:
        if attr.name == name:
            return list(attr.ints)
    given = [weights[t] for t in node.input[1:] if t in weights]
    if len(given) != 1 or given[0].data_type != 7:  # INT64
        return []
    weight = given[0]
    return list(weight.int64_data) or np.frombuffer(weight.raw_data, "<i8").tolist()
