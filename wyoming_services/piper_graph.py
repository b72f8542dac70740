"""Piper's VITS graph cut before its decoder, so the decoder runs on windows of bounded length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import importlib.util
import logging
from pathlib import Path
import subprocess
import sys
from typing import Any

import numpy as np

# The decoder (HiFi-GAN) is where a run's memory goes: every layer's output for the
# whole audio at once, about 0.25 MiB a frame of 256 samples (a 100-character
# sentence, ~400 frames, rose 93 MiB). Run on windows of at most WINDOW frames, a
# run holds what one window does, whatever the sentence's length.
WINDOW = 128
# Frames of latent on each side of a window that its convolutions read: with 12 the
# windows' audio joined is the whole decoder's, sample for sample, for the bundled
# voice (10 frames left 1e-6 of its peak, 8 left 2e-3; 16 decoded more to no gain
# and made a long reply 2-3 % slower, docs/benchmarks.md). Only the middle of each
# window is kept.
CONTEXT = 12
# Every Piper export names the decoder's nodes after the module (dec, in VITS).
DECODER = "/dec/"
# The halves' files.
ENCODER, DECODER_FILE = "encoder.onnx", "decoder.onnx"
# A cut takes about a second; a voice that cannot be cut in this time runs whole.
CUT_SECONDS = 120

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """Latent frames a decoder run reads (start, end) and those whose audio is kept (keep_from, keep_to)."""

    start: int
    end: int
    keep_from: int
    keep_to: int


def windows(
    frames: int, window: int = WINDOW, context: int = CONTEXT
) -> Iterator[Window]:
    """The decoder runs for frames of latent: one if they fit in a window."""
    if frames <= window:
        yield Window(0, frames, 0, frames)
        return
    step = window - 2 * context
    for keep_from in range(0, frames, step):
        keep_to = min(frames, keep_from + step)
        yield Window(
            max(0, keep_from - context),
            min(frames, keep_to + context),
            keep_from,
            keep_to,
        )


def onnx_schema() -> Any:
    """The protobuf classes of onnx (onnx_ml_pb2) alone: importing onnx takes ~1 s (ml_dtypes)."""
    spec = importlib.util.find_spec("onnx")
    if spec is None or spec.origin is None:
        raise ImportError("the onnx package is not installed")
    source = Path(spec.origin).with_name("onnx_ml_pb2.py")
    loading = importlib.util.spec_from_file_location("_onnx_ml_pb2", source)
    if loading is None or loading.loader is None:
        raise ImportError(f"cannot load {source}")
    schema = importlib.util.module_from_spec(loading)
    loading.loader.exec_module(schema)
    return schema


def split_at_decoder(model_path: Path, folder: Path) -> str | None:
    """Write the voice's graph cut where its decoder starts (ENCODER, DECODER_FILE in folder).

    Returns the tensor between the halves; None if the graph has no such single cut.
    """
    schema = onnx_schema()
    model = schema.ModelProto()
    model.ParseFromString(model_path.read_bytes())
    graph = model.graph
    nodes = list(graph.node)
    first = next((i for i, n in enumerate(nodes) if n.name.startswith(DECODER)), None)
    if first is None or len(graph.output) != 1:
        return None
    head, tail = nodes[:first], nodes[first:]
    made_before = {name for node in head for name in node.output}
    crossing = {name for node in tail for name in node.input if name in made_before}
    if len(crossing) != 1 or any(
        node.op_type in ("If", "Loop", "Scan") for node in nodes
    ):
        return None
    (latent,) = crossing
    weights = {w.name: w for w in graph.initializer}
    between = schema.ValueInfoProto(name=latent)
    between.type.tensor_type.elem_type = schema.TensorProto.FLOAT
    halves = (
        (ENCODER, head, list(graph.input), [between]),
        (DECODER_FILE, tail, [between], list(graph.output)),
    )
    for name, part, inputs, outputs in halves:
        half = schema.ModelProto(ir_version=model.ir_version)
        half.opset_import.extend(model.opset_import)
        half.graph.name = f"{graph.name}-{name}"
        half.graph.node.extend(part)
        half.graph.input.extend(inputs)
        half.graph.output.extend(outputs)
        used = {tensor for node in part for tensor in node.input}
        half.graph.initializer.extend(weights[t] for t in sorted(used & weights.keys()))
        (folder / name).write_bytes(half.SerializeToString())
    return str(latent)


def cut(model_path: Path, folder: Path) -> str | None:
    """split_at_decoder in a process of its own; None if it cannot (logged).

    The model's protobuf copies (3x its size at once) never enter the server's heap:
    made in a synthesis thread, glibc kept ~60 MiB of them for good.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(model_path), str(folder)],
            capture_output=True,
            text=True,
            timeout=CUT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as err:
        # The cut's own error (its last line), not only "returned non-zero exit status 1".
        said = getattr(err, "stderr", None) or ""
        if isinstance(said, bytes):  # a timeout's partial output
            said = said.decode(errors="replace")
        why = said.strip().splitlines()[-1:] or [str(err)]
        _LOGGER.warning("Piper voice %s runs whole: %s", model_path.name, why[0])
        return None
    return done.stdout.strip() or None


class WindowedVits:
    """Piper's graph as two onnxruntime sessions, the decoder run window by window.

    run() answers as the whole graph's session does (Piper calls session.run(None,
    inputs)), every half's run with the run's own RunOptions, so a stopped run ends
    at the next window at most. The halves' arenas are kept from run to run: they
    hold what the runs at once need (at most tts_text.MAX_PHONEMES phonemes and one
    window each; at most tts_workers runs at once, two by default, within
    speech_memory's budget), whatever the text's length, and a run reuses them
    instead of faulting its memory in anew (a short answer's run maps ~200 pages,
    not ~1,600).
    """

    def __init__(self, encoder: Any, decoder: Any, latent: str) -> None:
        """The halves' sessions and the tensor between them."""
        self._encoder = encoder
        self._decoder = decoder
        self._latent = latent

    def run(self, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
        """The audio for input_feed (the whole graph's inputs), as [array]."""
        (latent,) = self._encoder.run([self._latent], input_feed, run_options)
        audio = []
        for part in windows(latent.shape[-1]):
            (decoded,) = self._decoder.run(
                None, {self._latent: latent[..., part.start : part.end]}, run_options
            )
            # The decoder turns each frame into the same number of samples.
            hop = decoded.shape[-1] // (part.end - part.start)
            cut = slice(
                (part.keep_from - part.start) * hop, (part.keep_to - part.start) * hop
            )
            audio.append(decoded[..., cut])
        return [np.concatenate(audio, axis=-1)]


if __name__ == "__main__":
    print(split_at_decoder(Path(sys.argv[1]), Path(sys.argv[2])) or "")
