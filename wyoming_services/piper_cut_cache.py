"""Piper voices' graphs as cut (piper_graph), kept between starts: one folder per voice file."""

from __future__ import annotations

from collections.abc import Iterable
import hashlib
import logging
import os
from pathlib import Path
import re
import shutil
import tempfile

from .piper_graph import DECODER_FILE, DECODER_TAIL_FILE, ENCODER, Cut

_LOGGER = logging.getLogger(__name__)
# Where the graph was cut (piper_graph.Cut), beside the parts: a folder without it
# is not a whole cut, or one an older version made (latent.txt), cut again.
CUT_FILE = "cut.json"
# Where a cut is made before it is kept (the same file system: kept by a rename).
SCRATCH_PREFIX = "cutting-"
# The folders this cache makes (entry_name, scratch): the only ones it ever removes.
_OURS = re.compile(rf"[0-9a-f]{{16}}-[0-9]+-[0-9]+|{SCRATCH_PREFIX}.+")


def entry_name(model_path: Path) -> str:
    """The folder of a voice file as it is now: its place, size and time of change."""
    stat = model_path.stat()
    place = hashlib.sha256(os.fsencode(model_path.resolve())).hexdigest()[:16]
    return f"{place}-{stat.st_size}-{stat.st_mtime_ns}"


class CutCache:
    """A folder of cut voices; a voice file changed in place gets a new folder."""

    def __init__(self, folder: Path) -> None:
        """folder: created when the first cut is kept."""
        self.folder = folder

    def find(self, model_path: Path) -> tuple[Path, Cut] | None:
        """The kept parts' folder and where the graph was cut, or None if not kept.

        A folder of this voice that is not a whole cut of this version is dropped,
        so the new cut can be kept in its place.
        """
        entry = self.folder / entry_name(model_path)
        if not entry.is_dir():
            return None
        try:
            made = Cut.loads((entry / CUT_FILE).read_text())
        except (OSError, ValueError):  # ValueError: not UTF-8
            made = None
        parts = (
            ENCODER,
            DECODER_FILE,
            *([DECODER_TAIL_FILE] if made and made.between else []),
        )
        if made is None or not all((entry / p).is_file() for p in parts):
            self.forget(model_path)
            return None
        return entry, made

    def scratch(self) -> Path | None:
        """A new folder to cut in, inside the cache; None if it cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self.folder))
        except OSError as err:
            _LOGGER.warning(
                "Cannot keep Piper's cut voices in %s (%s): each start cuts them anew",
                self.folder,
                err.strerror or err,
            )
            return None

    def keep(self, model_path: Path, made: Path, where: Cut) -> None:
        """Keep the parts cut in made (a scratch folder) as model_path's."""
        try:
            (made / CUT_FILE).write_text(where.dumps())
            made.rename(self.folder / entry_name(model_path))
        except OSError as err:  # kept by another start, or the disk is full
            _LOGGER.debug("Cut of %s not kept: %s", model_path.name, err)
            shutil.rmtree(made, ignore_errors=True)

    def forget(self, model_path: Path) -> None:
        """Drop model_path's kept parts (they could not be loaded, or are not whole)."""
        shutil.rmtree(self.folder / entry_name(model_path), ignore_errors=True)

    def prune(self, voices: Iterable[Path]) -> None:
        """Drop the cuts of other voice files, or of these as they were; nothing else in the folder."""
        keep = set()
        for path in voices:
            try:
                keep.add(entry_name(path))
            except OSError:
                continue
        try:
            found = list(self.folder.iterdir())
        except OSError:
            return
        for entry in found:
            # A folder set by hand may hold the user's own files (their voices).
            if (
                entry.name not in keep
                and _OURS.fullmatch(entry.name)
                and entry.is_dir()
            ):
                shutil.rmtree(entry, ignore_errors=True)
