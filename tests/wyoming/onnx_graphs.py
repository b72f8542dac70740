"""Small ONNX graphs standing in for Piper's, and sessions that run them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
import onnxruntime  # type: ignore[import-untyped]


def session(path: Path | str) -> Any:
    """A plain onnxruntime session of the graph at path."""
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def graph(
    path: Path,
    nodes: list[Any],
    weights: list[Any] | None = None,
    *,
    speaker: bool = False,
    output: int = TensorProto.FLOAT,
) -> Path:
    """A small ONNX graph from x [1, 2, T] (and sid [1, 2, 1], a speaker) to y, saved at path."""
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, None])]
    if speaker:
        inputs.append(
            helper.make_tensor_value_info("sid", TensorProto.FLOAT, [1, 2, 1])
        )
    y = helper.make_tensor_value_info("y", output, None)
    made = helper.make_graph(nodes, "small", inputs, [y], weights or [])
    model = helper.make_model(made, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def scaling_voice(path: Path, scale: float) -> Path:
    """A graph with an encoder (/enc/) and a decoder (/dec/): y = -x * scale."""
    weight = helper.make_tensor("scale", TensorProto.FLOAT, [1], [scale])
    return graph(
        path,
        [
            helper.make_node("Neg", ["x"], ["z"], name="/enc/Neg"),
            helper.make_node("Mul", ["z", "scale"], ["y"], name="/dec/Mul"),
        ],
        [weight],
    )


def convolving_voice(
    path: Path, *, pad_in_tail: bool = False, speaker: bool = False
) -> Path:
    """A graph shaped as Piper's decoder: a convolution, two upsamplings (x2 each), another.

    pad_in_tail: an operator in the decoder's tail whose reach is not known (Sin).
    speaker: the decoder also reads the speaker's embedding, as VITS's does (cond).
    """
    rng = np.random.default_rng(5)

    def weight(name: str, *dims: int) -> Any:
        values = rng.standard_normal(dims).astype(np.float32) / 4
        return helper.make_tensor(name, TensorProto.FLOAT, dims, values.ravel())

    def conv(op: str, name: str, given: str, made: str, **attrs: Any) -> Any:
        return helper.make_node(op, [given, f"{name}.w"], [made], name=name, **attrs)

    upsample = {"kernel_shape": [4], "strides": [2], "pads": [1, 1]}
    pre = "a0" if speaker else "a"
    nodes = [
        helper.make_node("Neg", ["x"], ["z"], name="/enc/Neg"),
        conv("Conv", "/dec/conv_pre", "z", pre, kernel_shape=[3], pads=[1, 1]),
    ]
    if speaker:
        nodes[1:1] = [helper.make_node("Neg", ["sid"], ["g"], name="/enc/emb_g")]
        nodes += [
            conv("Conv", "/dec/cond", "g", "gc", kernel_shape=[1]),
            helper.make_node("Add", [pre, "gc"], ["a"], name="/dec/Add"),
        ]
    nodes += [
        conv("ConvTranspose", "/dec/ups.0", "a", "b", **upsample),
        helper.make_node("LeakyRelu", ["b"], ["/dec/act_output"], name="/dec/act"),
        conv("ConvTranspose", "/dec/ups.1", "/dec/act_output", "c", **upsample),
    ]
    if pad_in_tail:
        nodes.append(helper.make_node("Sin", ["c"], ["s"], name="/dec/Sin"))
    nodes.append(
        conv("Conv", "/dec/conv_post", "s" if pad_in_tail else "c", "y",
             kernel_shape=[3], pads=[1, 1])
    )  # fmt: skip
    weights = [
        weight(f"{name}.w", 2, 2, 4 if "ups" in name else 3)
        for name in ("/dec/conv_pre", "/dec/ups.0", "/dec/ups.1", "/dec/conv_post")
    ]
    weights.append(weight("/dec/cond.w", 2, 2, 1))
    return graph(path, nodes, weights, speaker=speaker)
