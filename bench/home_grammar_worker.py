"""PocketSphinx with a JSGF grammar over raw 16 kHz clips: runs in .bench/pocketsphinx (bench/run_home_grammar).

Usage: python home_grammar_worker.py GRAMMAR EXTRA_DICT CLIPS_JSON OUT_JSON (GRAMMAR:
a .gram JSGF or an .fsg automaton), where
CLIPS_JSON lists raw 16-bit mono 16 kHz files; OUT_JSON gets each one's best path
through the grammar ("" when the search ended outside it) and its decode time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import sys
import tempfile
import time

import pocketsphinx  # type: ignore[import-not-found]


def main() -> None:
    grammar, extra, clips, out = (Path(arg) for arg in sys.argv[1:5])
    model = Path(pocketsphinx.__file__).parent / "model" / "en-us"
    with tempfile.TemporaryDirectory() as folder:
        words = Path(folder) / "words.dict"
        words.write_text((model / "cmudict-en-us.dict").read_text() + extra.read_text())
        held = {"fsg" if grammar.suffix == ".fsg" else "jsgf": str(grammar)}
        decoder = pocketsphinx.Decoder(
            hmm=str(model / "en-us"), dict=str(words), logfn=os.devnull, **held
        )
    heard = []
    for file in json.loads(clips.read_text()):
        started = time.process_time()
        decoder.start_utt()
        decoder.process_raw(Path(file).read_bytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        heard.append(
            {
                "file": file,
                "heard": hypothesis.hypstr if hypothesis else "",
                "cpu_ms": (time.process_time() - started) * 1000,
            }
        )
    out.write_text(json.dumps(heard))


if __name__ == "__main__":
    main()
