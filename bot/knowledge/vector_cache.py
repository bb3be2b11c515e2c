"""Article vectors cached by content: a start or `kb reload` encodes only what changed.

Each vector is filed under the SHA-256 of the encoder's `model_id` and the exact text
encoded, so an edited article, a new article or a new model misses the cache and
everything else is read back. The bot's cache file is `.vectors.npz` in the KB folder
(next to the articles it describes; every process over the same KB shares it, and the
articles' loader reads only `*.md`; keep it out of the KB's git with `.gitignore`). It
holds `keys` (the digests, one row of 32 bytes each: numpy's fixed-width byte strings
would drop a digest's trailing zero bytes) and `vectors` (float32 rows). It is
rewritten, atomically (a temporary file, then a rename), only when something was
encoded, and then holds exactly the current articles' vectors, so it never grows past
the KB. A missing, unreadable or mismatched
file is an empty cache: everything is encoded again and the file rewritten.

The same texts are also kept in memory per process (bounded), so the tests and a bot
that rebuilds its index re-encode nothing they have seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from bot.knowledge.encoder import Matrix, SentenceEncoder

log = logging.getLogger(__name__)
FILE_NAME = ".vectors.npz"
_MEMORY_LIMIT = 50_000  # vectors kept in memory across index builds (~77 MB at 384 dims)
_memory: dict[bytes, Matrix] = {}


def _key(model_id: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_id}\0{text}".encode()).digest()


def _read(path: Path, dims: int) -> dict[bytes, Matrix]:
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = data["keys"]
            vectors = data["vectors"].astype(np.float32)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        log.warning("kb search: vector cache %s unreadable (%s); encoding again", path, exc)
        return {}
    if keys.dtype != np.uint8 or keys.shape != (len(vectors), 32) or vectors.shape[1:] != (dims,):
        log.warning("kb search: vector cache %s does not fit this encoder; encoding again", path)
        return {}
    return {k.tobytes(): v for k, v in zip(keys, vectors, strict=True)}


def _write(path: Path, keys: list[bytes], vectors: Matrix) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kb-vectors-", suffix=".npz")
        with os.fdopen(fd, "wb") as out:
            digests = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
            np.savez(out, keys=digests, vectors=vectors)
        Path(tmp).chmod(0o644)  # as any file the bot writes, not mkstemp's owner-only
        Path(tmp).replace(path)
    except OSError as exc:  # a read-only KB folder costs the next start time, nothing else
        log.warning("kb search: cannot write vector cache %s (%s)", path, exc)


def article_vectors(encoder: SentenceEncoder, texts: list[str], cache: Path | None) -> Matrix:
    """One vector per text: from memory, then from the cache file, else encoded (and saved)."""
    keys = [_key(encoder.model_id, t) for t in texts]
    known = {k: _memory[k] for k in keys if k in _memory}
    if cache is not None and len(known) < len(set(keys)):
        known.update(_read(cache, encoder.dims))
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        index = {k: i for i, k in enumerate(keys)}
        log.info("kb search: encoding %d of %d articles", len(missing), len(texts))
        fresh = encoder.encode([texts[index[k]] for k in missing])
        known.update(zip(missing, fresh, strict=True))
    out: Matrix = np.zeros((len(keys), encoder.dims), dtype=np.float32)
    for row, k in enumerate(keys):
        out[row] = known[k]
    if cache is not None and keys and (missing or not cache.exists()):
        unique = list(dict.fromkeys(keys))
        _write(cache, unique, np.stack([known[k] for k in unique]).astype(np.float32))
    if len(keys) <= _MEMORY_LIMIT:
        if len(_memory) + len(keys) > _MEMORY_LIMIT:
            _memory.clear()
        _memory.update((k, known[k]) for k in keys)
    return out
