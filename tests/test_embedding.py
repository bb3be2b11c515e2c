"""Static embeddings for KB search: the shipped vectors, the tokenizer, and running without them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import KnowledgeBase, load_articles
from bot.knowledge.embedding import VECTORS, StaticEmbedder, default_embedder
from bot.knowledge.wordpiece import basic_tokens

KB = Path(__file__).resolve().parent.parent / "kb"


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    loaded = default_embedder()
    assert loaded is not None, "the vector file ships inside the package"
    return loaded


def cosine(embedder: StaticEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed(a), embedder.embed(b)
    assert va is not None and vb is not None
    return float(va @ vb)


def test_shipped_vectors_load_small_and_typed(embedder: StaticEmbedder) -> None:
    assert VECTORS.is_file() and VECTORS.stat().st_size < 8_000_000
    assert embedder.dims == 128
    assert embedder.vectors.dtype == np.float32
    assert len(embedder.vectors) > 20_000


def test_vectors_are_unit_and_deterministic(embedder: StaticEmbedder) -> None:
    first = embedder.embed("Outlook keeps asking for my password")
    again = StaticEmbedder.from_file(VECTORS).embed("Outlook keeps asking for my password")
    assert first is not None and again is not None
    assert np.array_equal(first, again)
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5


def test_similar_texts_are_closer_than_unrelated_ones(embedder: StaticEmbedder) -> None:
    near = cosine(
        embedder, "outlook keeps asking for password", "email client prompts for credentials"
    )
    far = cosine(embedder, "outlook keeps asking for password", "printer paper jam in tray two")
    assert near > far + 0.2
    assert cosine(embedder, "vpn will not connect", "cannot connect to the vpn") > 0.8


def test_embed_many_matches_embed_one_by_one(embedder: StaticEmbedder) -> None:
    texts = ["printer offline", "", "the and of", "wifi drops " * 5000, "Café résumé 打印機"]
    many = embedder.embed_many(texts)
    assert many.shape == (len(texts), embedder.dims)
    for text, row in zip(texts, many, strict=True):
        one = embedder.embed(text)
        if one is None:
            assert not row.any(), text[:20]
        else:
            assert np.allclose(one, row, atol=1e-4), text[:20]


def test_tokenizer_follows_bert_basic_rules(embedder: StaticEmbedder) -> None:
    assert basic_tokens("Wi-Fi, e-mail!") == ["wi", "fi", "e", "mail"]
    assert basic_tokens("Café naïve — résumé") == ["cafe", "naive", "resume"]
    assert basic_tokens("打印機 work") == ["打", "印", "機", "work"]
    assert embedder.token_ids("the") == [], "stopwords add nothing"
    assert embedder.embed("") is None
    assert embedder.embed("🙂🙂 ~~~") is None
    assert len(embedder.token_ids("unaffable")) > 1, "an unknown word falls into WordPiece pieces"


def test_missing_or_corrupt_vector_file_warns_and_search_still_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt = tmp_path / "vectors.npz"
    corrupt.write_bytes(b"not a numpy file at all")
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.embedding"):
        assert StaticEmbedder.load(tmp_path / "missing.npz") is None
        assert StaticEmbedder.load(corrupt) is None
    assert sum("no semantic signal" in r.getMessage() for r in caplog.records) == 2
    np.savez(corrupt, vocab=np.frombuffer(b"a\nb", dtype=np.uint8), vectors=np.zeros((3, 4)))
    assert StaticEmbedder.load(corrupt) is None, "vocab and vectors disagree"
    kb = KnowledgeBase(load_articles(KB), embedder=StaticEmbedder.load(corrupt))
    result = kb.search("printer offline")
    assert result.answered and result.hits
    assert kb.search("").hits == ()


def test_default_embedder_unusable_means_search_without_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.knowledge.embedding as embedding

    monkeypatch.setattr(embedding, "VECTORS", tmp_path / "gone.npz")
    embedding.default_embedder.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.knowledge.embedding"):
            kb = KnowledgeBase(load_articles(KB))
        assert "no semantic signal" in caplog.text
        assert kb.search("printer offline").hits
    finally:
        embedding.default_embedder.cache_clear()


def test_chinese_question_is_embedded_through_glossary_words() -> None:
    kb = KnowledgeBase(load_articles(KB))
    parsed = kb.parse("打印機唔work")
    assert "printer" in parsed.clean.split()
    result = kb.search("打印機唔work", "zh-Hant")
    assert result.hits and result.hits[0].article.lang == "zh-Hant"
