"""Small ONNX graphs standing in for Piper's, and sessions that run them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper
import onnxruntime  # type: ignore[import-untyped]


def session(path: Path | str) -> Any:
    """A plain onnxruntime session of the graph at path."""
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def graph(path: Path, nodes: list[Any], weights: list[Any] | None = None) -> Path:
    """A small ONNX graph from x [1, 2, T] to y, saved at path."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    made = helper.make_graph(nodes, "small", [x], [y], weights or [])
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
