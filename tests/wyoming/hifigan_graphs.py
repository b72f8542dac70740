"""Small graphs with the topology of Piper's VITS decoders (HiFi-GAN), for the cut's windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from onnx import TensorProto, helper

from .onnx_graphs import graph


@dataclass(frozen=True)
class Decoder:
    """A Piper voice quality's decoder: its upsamplings and its resblocks."""

    rates: tuple[int, ...]
    kernels: tuple[int, ...]
    resblock_kernels: tuple[int, ...]
    dilations: tuple[tuple[int, ...], ...]
    # "1": each dilated convolution followed by one that is not; "2": alone.
    resblock: str


# As in Piper's training configurations (channels aside).
MEDIUM = Decoder((8, 8, 4), (16, 16, 8), (3, 5, 7), ((1, 2), (2, 6), (3, 12)), "2")
HIGH = Decoder((8, 8, 2, 2), (16, 16, 4, 4), (3, 7, 11), ((1, 3, 5),) * 3, "1")


def hifigan_voice(path: Path, decoder: Decoder, channels: int = 32) -> Path:
    """x [1, 2, T] through /enc/ (a sign) and a HiFi-GAN decoder of that shape to y."""
    rng = np.random.default_rng(7)
    nodes: list[Any] = [helper.make_node("Neg", ["x"], ["z"], name="/enc/Neg")]
    weights: list[Any] = [helper.make_tensor("three", TensorProto.FLOAT, [1], [3.0])]
    count = iter(range(10_000))

    def op(kind: str, inputs: list[str], name: str, **attrs: Any) -> str:
        made = f"/dec/{name}_{next(count)}"
        nodes.append(helper.make_node(kind, inputs, [made], name=made, **attrs))
        return made

    def conv(kind: str, given: str, dims: tuple[int, ...], **attrs: Any) -> str:
        name = f"w{len(weights)}"
        values = rng.standard_normal(dims).astype(np.float32) / np.sqrt(
            dims[1] * dims[2]
        )
        weights.append(
            helper.make_tensor(name, TensorProto.FLOAT, dims, values.ravel())
        )
        return op(kind, [given, name], kind, kernel_shape=[dims[2]], **attrs)

    def relu(given: str) -> str:
        return op("LeakyRelu", [given], "LeakyRelu", alpha=0.1)

    x = conv("Conv", "z", (channels, 2, 7), pads=[3, 3])
    width = channels
    for rate, kernel in zip(decoder.rates, decoder.kernels, strict=True):
        pad = (kernel - rate) // 2
        x = conv(
            "ConvTranspose", relu(x), (width, width // 2, kernel),
            strides=[rate], pads=[pad, pad],
        )  # fmt: skip
        width //= 2
        blocks = []
        for size, dilations in zip(
            decoder.resblock_kernels, decoder.dilations, strict=True
        ):
            y = x
            for dilation in dilations:
                half = dilation * (size - 1) // 2
                step = conv(
                    "Conv", relu(y), (width, width, size),
                    dilations=[dilation], pads=[half, half],
                )  # fmt: skip
                if decoder.resblock == "1":
                    step = conv("Conv", relu(step), (width, width, size),
                                pads=[(size - 1) // 2] * 2)  # fmt: skip
                y = op("Add", [step, y], "Add")
            blocks.append(y)
        total = blocks[0]
        for block in blocks[1:]:
            total = op("Add", [total, block], "Add")
        x = op("Div", [total, "three"], "Div")
    out = conv("Conv", relu(x), (1, width, 7), pads=[3, 3])
    nodes.append(helper.make_node("Tanh", [out], ["y"], name="/dec/Tanh"))
    return graph(path, nodes, weights)
