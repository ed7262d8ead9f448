"""Parse stage, language: which of the desk's languages a customer wrote in.

py3langid's model, limited to the languages the desk writes (en, de, fr, es, nl, pt), reads
the request's own new text. A short or mixed text it is not sure about counts as English,
the desk's own language: a wrong guess would send a customer mail they cannot read.
"""

from __future__ import annotations

import functools
import lzma
import shutil
import sys
import tempfile
import threading
import zipfile
from array import array

LANGUAGES = ("en", "de", "fr", "es", "nl", "pt")
DEFAULT = "en"
# Below this the model is guessing (a greeting and a service name read as anything).
_MIN_CONFIDENCE = 0.7
_MIN_LETTERS = 12


def detect_language(text: str) -> str:
    """The language of `text`, one of LANGUAGES; DEFAULT when too short or unsure."""
    text = (text or "").strip()
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return DEFAULT
    language, confidence = _identifier().classify(text[:5000])
    return language if language in LANGUAGES and confidence >= _MIN_CONFIDENCE else DEFAULT


def warm_up() -> None:
    """Load the model now (most of a second of CPU), so the first customer's mail does not wait for it."""
    _identifier()


def _identifier():
    # One load even when the warm-up and the first mail ask at once.
    with _LOADING:
        return _load()


_LOADING = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load():
    """py3langid's identifier with only the desk's languages, read without holding the model twice.

    The library's own loader reads each array whole and then copies it (the 39 MB state
    table into a stdlib array, the 28 MB weights for all 97 languages before they are cut
    to six), which put about 100 MB on the daemon's peak memory for a moment at start-up.
    Here the arrays are read from the model file in slices: the table straight into its
    array, the weights as the six columns kept. The file's layout is py3langid's own
    (npz inside xz, see py3langid.modelio), which is why the dependency is pinned to 0.4.
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    with tempfile.TemporaryFile(suffix=".npz") as unpacked:
        with lzma.open(MODEL_DIR / MODEL_FILE) as packed:
            shutil.copyfileobj(packed, unpacked, length=1 << 20)
        unpacked.seek(0)
        with zipfile.ZipFile(unpacked) as model:
            classes = _read(model, "classes").tolist()
            kept = [i for i, label in enumerate(classes) if label in LANGUAGES]
            identifier = LanguageIdentifier(
                _read(model, "ptc", columns=kept),
                _read(model, "pc")[kept],
                [classes[i] for i in kept],
                _read_flat(model, "nextmove"),
                _read(model, "out_feat").tolist(),
                norm_probs=True,
                tk_row=_read_flat(model, "nextmove_row"),
            )
    return identifier


_SLICE_BYTES = 1 << 20
_TYPECODES = {2: "H", 4: "I", 8: "L"}


def _header(member):
    import numpy as np

    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)
    return np.lib.format.read_array_header_2_0(member)


def _read(model: zipfile.ZipFile, name: str, columns: list[int] | None = None):
    """One array of the model; with `columns`, only those columns of a 2-D one, a slice of rows at a time."""
    import numpy as np

    with model.open(f"{name}.npy") as member:
        shape, fortran_order, dtype = _header(member)
        if fortran_order:
            raise ValueError(f"{name}: a Fortran-ordered array is not a layout py3langid writes")
        if columns is None:
            return np.frombuffer(member.read(), dtype=dtype).reshape(shape).copy()
        rows, width = shape
        kept = np.empty((rows, len(columns)), dtype=dtype)
        step = max(1, _SLICE_BYTES // (width * dtype.itemsize))
        for start in range(0, rows, step):
            count = min(step, rows - start)
            chunk = np.frombuffer(member.read(count * width * dtype.itemsize), dtype=dtype).reshape(count, width)
            kept[start : start + count] = chunk[:, columns]
        return kept


def _read_flat(model: zipfile.ZipFile, name: str) -> array:
    """An unsigned integer array of the model as the stdlib array the identifier walks, a slice at a time."""
    with model.open(f"{name}.npy") as member:
        _, _, dtype = _header(member)
        if dtype.kind != "u" or dtype.itemsize not in _TYPECODES:
            raise ValueError(f"{name}: expected unsigned integers, found {dtype}")
        flat = array(_TYPECODES[dtype.itemsize])
        while chunk := member.read(_SLICE_BYTES - _SLICE_BYTES % dtype.itemsize):
            flat.frombytes(chunk)
        stored_big = dtype.byteorder == ">" or (dtype.byteorder == "=" and sys.byteorder == "big")
        if stored_big != (sys.byteorder == "big"):
            flat.byteswap()
        return flat
