"""Piper's VITS graph cut before its decoder, so the decoder runs on windows of bounded length."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
import importlib.util
import json
import logging
from pathlib import Path
import subprocess
import sys
from typing import Any

import numpy as np

from .piper_reach import reach

# The decoder (HiFi-GAN) is where a run's memory goes: every layer's output for the
# whole audio at once, about 0.25 MiB a frame of 256 samples (a 100-character
# sentence, ~400 frames, rose 93 MiB). Run on windows of at most WINDOW frames, a
# run holds what one window does, whatever the sentence's length.
WINDOW = 128
# Cut again at its second upsampling (a head and a tail), the decoder's windows
# overlap little: the tail reads ~1.4 frames around a window, not CONTEXT. The head
# (an eighth of a frame's memory, a fifth of the work) runs on long windows, the
# tail on short ones: en_US-joe-medium's 3-sentence reply 9 % faster than on
# WINDOW-frame windows of the whole decoder, as fast as the graph run whole, and a
# long run's peak 28 MiB over the rest, not 32 (docs/benchmarks.md).
HEAD_WINDOW = 256
TAIL_WINDOW = 64
# Frames of latent either side of a window that the bundled voice's whole decoder
# reads (piper_reach works each voice's out): the windows' default.
CONTEXT = 12
# Every Piper export names the decoder's nodes after the module (dec, in VITS).
DECODER = "/dec/"
# The parts' files: the decoder's second part only when it is cut twice.
ENCODER, DECODER_FILE, DECODER_TAIL_FILE = (
    "encoder.onnx",
    "decoder.onnx",
    "decoder_tail.onnx",
)
# The graph input of a Piper voice of several speakers: the speaker's id.
SPEAKER = "sid"
# A cut takes about a second; a voice that cannot be cut in this time runs whole.
CUT_SECONDS = 120
_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """Frames a decoder run reads (start, end) and those whose output is kept (keep_from, keep_to)."""

    start: int
    end: int
    keep_from: int
    keep_to: int


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a voice's graph was cut, and how far each decoder part's windows read around them."""

    # The tensor from the encoder to the decoder, and the frames either side of a
    # window the decoder (its head, when cut twice) reads.
    latent: str
    context: int = CONTEXT
    # Cut twice: the tensor from the decoder's head to its tail, the head's samples
    # a frame, and the head's samples either side of a window the tail reads.
    between: str = ""
    rate: int = 1
    tail_context: int = 0
    # What else the decoder reads from the encoder, whole in every window: a voice
    # of several speakers' embedding of the one speaking (from SPEAKER).
    side: tuple[str, ...] = ()

    def dumps(self) -> str:
        """As kept beside the parts (piper_cut_cache) and printed by the cut's process."""
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> Cut | None:
        """The Cut dumps() wrote, if it is one split_at_decoder could make; None for anything else."""
        try:
            data = json.loads(text)
            side = data.pop("side", [])
            if not isinstance(side, list) or not all(isinstance(n, str) for n in side):
                return None
            cut = cls(**data, side=tuple(side))
        except (ValueError, TypeError, AttributeError, RecursionError):
            return None
        names = (cut.latent, cut.between, *cut.side)
        if not all(type(n) is str for n in names) or not cut.latent:
            return None
        if len(set(names)) != len(names):  # each tensor once ("" only once)
            return None
        if not all(type(f) is int for f in (cut.context, cut.rate, cut.tail_context)):
            return None
        # split_at_decoder's reaches are one sample more than the convolutions read.
        if cut.context < 1 or cut.rate < 1 or cut.tail_context < bool(cut.between):
            return None
        return cut if cut.fits() else None

    def fits(self) -> bool:
        """Whether each window keeps at least half of what it decodes."""
        if not self.between:
            return 4 * self.context <= WINDOW
        tail_window = TAIL_WINDOW * self.rate
        return 4 * self.context <= HEAD_WINDOW and 4 * self.tail_context <= tail_window


def windows(
    frames: int, window: int = WINDOW, context: int = CONTEXT
) -> Iterator[Window]:
    """The decoder runs for frames: one if they fit in a window."""
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


def _crossing(nodes: Sequence[Any], at: int, given: set[str]) -> list[str]:
    """The tensors made before nodes[at] (or given) that nodes from at on read, as first read."""
    made = given | {name for node in nodes[:at] for name in node.output}
    read = [name for node in nodes[at:] for name in node.input if name in made]
    return list(dict.fromkeys(read))


def _inputs_of(nodes: Sequence[Any], given: set[str]) -> dict[str, set[str]]:
    """For each tensor nodes make, the graph inputs (of given) it is made from."""
    found: dict[str, set[str]] = {name: {name} for name in given}
    for node in nodes:
        sources = set().union(*(found.get(name, set()) for name in node.input))
        for name in node.output:
            found[name] = sources
    return found


def split_at_decoder(model_path: Path, folder: Path) -> Cut | None:
    """Write the voice's graph cut where its decoder starts, and again at its second upsampling when it can.

    The parts go in folder (ENCODER, DECODER_FILE, DECODER_TAIL_FILE); None if it
    cannot be cut so that its windows make the whole graph's audio (the decoder
    reads more than the latent and the speaker, or an operator reach() does not
    know).
    """
    schema = onnx_schema()
    model = schema.ModelProto()
    model.ParseFromString(model_path.read_bytes())
    graph = model.graph
    nodes = list(graph.node)
    first = next((i for i, n in enumerate(nodes) if n.name.startswith(DECODER)), None)
    if first is None or len(graph.output) != 1:
        return None
    if any(node.op_type in ("If", "Loop", "Scan") for node in nodes):
        return None
    given = {i.name for i in graph.input}
    read = _crossing(nodes, first, given)
    if not read or read[0] in given:
        return None
    # The latent is what the decoder reads first (VITS: conv_pre); anything else
    # must be made from the speaker's id alone, so that it is the same all along.
    latent, side = read[0], tuple(read[1:])
    made_from = _inputs_of(nodes[:first], given)
    if any(made_from.get(name) != {SPEAKER} or name in given for name in side):
        return None
    ups = [i for i in range(first, len(nodes)) if nodes[i].op_type == "ConvTranspose"]
    head_end = ups[1] if len(ups) > 1 else len(nodes)
    into_tail = _crossing(nodes, head_end, given) if head_end < len(nodes) else []
    between = into_tail[0] if len(into_tail) == 1 else None
    (out,) = (o.name for o in graph.output)
    weights = {w.name: w for w in graph.initializer}
    chosen = None
    if between:
        head = reach(nodes[first:head_end], latent, between, weights, side)
        tail = reach(nodes[head_end:], between, out, weights)
        if head and tail:
            chosen = Cut(latent, head[0], between, head[1], tail[0], side)
    if chosen is None or not chosen.fits():
        whole = reach(nodes[first:], latent, out, weights, side)
        chosen = Cut(latent, whole[0], side=side) if whole else None
        if chosen is None or not chosen.fits():
            return None  # how far its windows must read is not known: run whole

    def write(
        name: str, part: list[Any], inputs: list[Any], outputs: list[Any]
    ) -> None:
        half = schema.ModelProto(ir_version=model.ir_version)
        half.opset_import.extend(model.opset_import)
        half.graph.name = f"{graph.name}-{name}"
        half.graph.node.extend(part)
        half.graph.input.extend(inputs)
        half.graph.output.extend(outputs)
        used = {tensor for node in part for tensor in node.input}
        half.graph.initializer.extend(weights[t] for t in sorted(used & weights.keys()))
        (folder / name).write_bytes(half.SerializeToString())

    def tensor(name: str) -> Any:
        made = schema.ValueInfoProto(name=name)
        made.type.tensor_type.elem_type = schema.TensorProto.FLOAT
        return made

    crossing = [tensor(name) for name in (latent, *side)]
    write(ENCODER, nodes[:first], list(graph.input), crossing)
    if chosen.between:
        into = [tensor(chosen.between)]
        write(DECODER_FILE, nodes[first:head_end], crossing, into)
        write(DECODER_TAIL_FILE, nodes[head_end:], into, list(graph.output))
    else:
        write(DECODER_FILE, nodes[first:], crossing, list(graph.output))
    return chosen


def cut(model_path: Path, folder: Path) -> Cut | None:
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
    return Cut.loads(done.stdout) if done.stdout.strip() else None


class WindowedVits:
    """Piper's graph as onnxruntime sessions, the decoder run window by window.

    run() answers as the whole graph's session does (Piper calls session.run(None,
    inputs)), every part's run with the run's own RunOptions, so a stopped run ends
    at the next window at most. The parts' arenas are kept from run to run: they
    hold what the runs at once need (at most tts_text.MAX_PHONEMES phonemes and one
    window each; at most tts_workers runs at once, two by default, within
    speech_memory's budget), whatever the text's length, and a run reuses them
    instead of faulting its memory in anew (a short answer's run maps ~200 pages,
    not ~1,600).

    Cut twice, the decoder's head runs on long windows of latent and its tail on
    windows of the head's output: the tail reads a few of the head's samples around
    each window, not CONTEXT frames, so little of the costly part is decoded twice.
    """

    def __init__(
        self, encoder: Any, decoder: Any, cut: Cut, tail: Any | None = None
    ) -> None:
        """The parts' sessions (tail: the decoder's second part, when cut twice)."""
        self._encoder = encoder
        self._decoder = decoder
        self._tail = tail if cut.between else None
        self._cut = cut

    @property
    def cut(self) -> Cut:
        """Where the voice's graph was cut."""
        return self._cut

    def run(
        self,
        output_names: Any,
        input_feed: Any,
        run_options: Any = None,
        deliver: Callable[[Any], None] | None = None,
    ) -> Any:
        """The audio for input_feed (the whole graph's inputs), as [array].

        deliver, if given, is handed each window's audio as soon as it is made.
        """
        cut = self._cut
        latent, *made = self._encoder.run(
            [cut.latent, *cut.side], input_feed, run_options
        )
        side = dict(zip(cut.side, made, strict=True))
        if any(value.ndim and value.shape[-1] != 1 for value in side.values()):
            raise ValueError(f"the decoder reads more than {cut.latent} in time")
        decoded = _in_windows(
            self._decoder, cut.latent, latent, run_options,
            window=WINDOW if self._tail is None else HEAD_WINDOW,
            context=cut.context, side=side,
            deliver=deliver if self._tail is None else None,
        )  # fmt: skip
        if self._tail is None:
            return [decoded]
        return [
            _in_windows(
                self._tail, cut.between, decoded, run_options,
                window=TAIL_WINDOW * cut.rate, context=cut.tail_context,
                deliver=deliver,
            )
        ]  # fmt: skip


def _in_windows(
    part: Any,
    name: str,
    given: Any,
    run_options: Any,
    *,
    window: int,
    context: int,
    side: dict[str, Any] | None = None,
    deliver: Callable[[Any], None] | None = None,
) -> Any:
    """The part's output for given (its input called name), run window by window; side whole in each.

    deliver, if given, is handed each window's output as soon as it is made.
    """
    kept = []
    for piece in windows(given.shape[-1], window, context):
        feed = {name: given[..., piece.start : piece.end], **(side or {})}
        (made,) = part.run(None, feed, run_options)
        # Each of given's samples becomes the same number of samples.
        hop = made.shape[-1] // (piece.end - piece.start)
        first, last = piece.keep_from - piece.start, piece.keep_to - piece.start
        kept.append(made[..., first * hop : last * hop])
        if deliver is not None:
            deliver(kept[-1])
    return kept[0] if len(kept) == 1 else np.concatenate(kept, axis=-1)


if __name__ == "__main__":
    made = split_at_decoder(Path(sys.argv[1]), Path(sys.argv[2]))
    print(made.dumps() if made else "")
