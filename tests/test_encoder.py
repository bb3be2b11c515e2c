"""The sentence encoder in KB search: the shipped model, cached article vectors, fallback."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import bot.knowledge.vector_cache as vector_cache
from bot.knowledge import KnowledgeBase, SearchResult, load_articles
from bot.knowledge.encoder import (
    MAX_TOKENS,
    EncoderUnavailable,
    Matrix,
    MiniLMEncoder,
    SentenceEncoder,
    default_encoder,
    load_encoder,
)
from bot.knowledge.evidence import no_answer_examples
from bot.knowledge.library import Library
from bot.knowledge.vector_cache import article_vectors
from bot.store import open_store
from bot.store.kb_log import Signals

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    loaded = default_encoder()
    assert not isinstance(loaded, EncoderUnavailable), loaded
    return loaded


class CountingEncoder:
    """A real SentenceEncoder that remembers how many texts it was asked to encode."""

    def __init__(self, real: SentenceEncoder, model_id: str) -> None:
        self.real = real
        self.model_id = model_id
        self.dims = real.dims
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> Matrix:
        self.encoded.extend(texts)
        return self.real.encode(texts)


def article(folder: Path, name: str, title: str, body: str) -> None:
    (folder / f"{name}.md").write_text(
        f"---\nid: {name}\ntitle: {title}\ntags: []\nlang: en\n---\n{body}\n", "utf-8"
    )


def test_shipped_encoder_gives_unit_vectors_closer_for_the_same_meaning(
    encoder: SentenceEncoder,
) -> None:
    vectors = encoder.encode(
        [
            "outlook keeps asking for my password",
            "my email client prompts for credentials again and again",
            "printer paper jam in tray two",
        ]
    )
    assert vectors.shape == (3, encoder.dims) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert encoder.encode([]).shape == (0, encoder.dims)


def test_a_batch_encodes_each_text_as_alone(encoder: SentenceEncoder) -> None:
    texts = ["vpn", "", "teams has no sound in meetings " * 3, "打印機唔work", "wifi " * 400]
    together = encoder.encode(texts)
    for text, row in zip(texts, together, strict=True):
        assert np.allclose(encoder.encode([text])[0], row, atol=1e-4), text[:20]


def test_a_long_text_is_read_up_to_the_token_limit(encoder: SentenceEncoder) -> None:
    head = " ".join(f"word{i}" for i in range(10))
    words = ["printer"] * (MAX_TOKENS - 2)
    long, cut = encoder.encode([" ".join([*words, head]), " ".join(words)])
    assert np.allclose(long, cut, atol=1e-5)


def test_missing_or_unreadable_model_is_unavailable_and_search_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(EncoderUnavailable, match="unreadable"):
        load_encoder(bad)
    with pytest.raises(EncoderUnavailable, match="unreadable"):
        MiniLMEncoder(tmp_path / "gone.onnx")
    with pytest.raises(EncoderUnavailable, match="vocabulary"):
        MiniLMEncoder(bad, vocabulary=tmp_path / "gone.txt")
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.encoder"):
        problem = default_encoder(bad)
    assert isinstance(problem, EncoderUnavailable)
    assert "no sentence encoder" in caplog.text
    kb = KnowledgeBase(load_articles(KB), encoder=problem)
    assert kb.encoder is None and kb.encoder_problem and "unreadable" in kb.encoder_problem
    result = kb.search("printer offline")
    assert result.answered and "print" in result.hits[0].article.article_id


def test_config_check_says_when_the_encoder_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[kb]\npath = "{KB.as_posix()}"\nencoder_model = "{tmp_path}/gone.onnx"\n')
    env = {"HELPDESK_CONFIG": str(config), "HELPDESK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode()
    assert "knowledge search has no sentence encoder" in err and "gone.onnx" in err
    healthy = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check"],
        capture_output=True,
        cwd=ROOT,
        env={**env, "HELPDESK_CONFIG": ""},
        timeout=120,
        check=False,
    )
    assert "sentence encoder all-MiniLM-L6-v2-int8" in healthy.stdout.decode()


def test_articles_are_encoded_once_per_content_and_cached_in_a_file(
    tmp_path: Path, encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    article(folder, "printer-offline", "Printer shows offline", "Turn the printer on.")
    article(folder, "vpn-drops", "VPN keeps disconnecting", "Use the wired network.")
    cache = folder / ".vectors.npz"
    counting = CountingEncoder(encoder, "counting-test")

    def build() -> KnowledgeBase:
        monkeypatch.setattr(vector_cache, "_memory", {})  # as a fresh process starts
        return KnowledgeBase(
            load_articles(folder), encoder=counting, vector_cache=cache, no_answer=()
        )

    build()
    assert len(counting.encoded) == 2 and cache.is_file()
    again = build()
    assert len(counting.encoded) == 2, "a restart reads the vectors back"
    assert again.search("printer offline").hits[0].article.article_id == "printer-offline"
    del counting.encoded[2:]  # the question
    article(folder, "vpn-drops", "VPN keeps disconnecting", "Use the office Wi-Fi instead.")
    article(folder, "teams-audio", "No sound in Teams", "Pick the right speaker.")
    build()
    assert len(counting.encoded) == 4, "only the edited and the new article"
    assert any("Wi-Fi" in t for t in counting.encoded[2:])
    with np.load(cache) as data:
        assert len(data["keys"]) == 3, "the file holds the current articles only"
    cache.write_bytes(b"garbage")
    build()
    assert len(counting.encoded) == 7, "an unreadable cache means encoding again"


def test_cached_vectors_equal_fresh_ones_and_follow_the_model(
    tmp_path: Path, encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "vectors.npz"
    texts = ["printer offline", "vpn drops", "printer offline"]
    fresh = article_vectors(CountingEncoder(encoder, "model-a"), texts, cache)
    monkeypatch.setattr(vector_cache, "_memory", {})
    other = CountingEncoder(encoder, "model-b")
    again = article_vectors(other, texts, cache)
    assert len(other.encoded) == 2, "another model never reuses these vectors"
    assert np.allclose(fresh, again, atol=1e-6) and np.array_equal(fresh[0], fresh[2])


def test_chinese_and_english_questions_cross_languages(encoder: SentenceEncoder) -> None:
    kb = KnowledgeBase(load_articles(KB), encoder=encoder)
    english = kb.search("my laptop is very slow", "zh-Hant")
    assert english.hits[0].article.group_id == "laptop-slow"
    assert english.hits[0].article.lang == "zh-Hant", "shown in the asker's language"
    chinese = kb.search("電腦好慢", "en")
    assert chinese.answered and chinese.hits[0].article.group_id == "laptop-slow"
    assert chinese.hits[0].article.lang == "en"


def test_a_chinese_question_is_encoded_natively_and_through_the_glossary(
    encoder: SentenceEncoder,
) -> None:
    counting = CountingEncoder(encoder, "counting-native")
    kb = KnowledgeBase(load_articles(KB), encoder=counting)
    del counting.encoded[:]  # the articles
    result = kb.search("部電腦好慢", "en")
    assert counting.encoded == ["部電腦好慢", kb.parse("部電腦好慢").clean]
    assert "computer" in counting.encoded[1], "the glossary's English words"
    assert result.answered and result.hits[0].article.group_id == "laptop-slow"
    del counting.encoded[:]
    kb.search("my laptop is very slow")
    assert counting.encoded == ["my laptop is very slow"], "English is read once, as typed"


def test_the_library_answers_in_its_worker_thread_and_reloads_only_what_changed(
    tmp_path: Path, encoder: SentenceEncoder
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    article(folder, "printer-offline", "Printer shows offline", "Turn the printer on.")
    signals = Signals(open_store(tmp_path / "store.db"))
    library = Library(folder, 0.5, signals)
    assert library.encoder is not None and library.encoder_problem is None
    assert (folder / ".vectors.npz").is_file()

    async def ask() -> tuple[SearchResult, str]:
        result = await library.answer("printer offline")
        names = [t.name for t in threading.enumerate()]
        return result, " ".join(names)

    result, threads = asyncio.run(ask())
    assert result == library.search("printer offline")
    assert "kb-search" in threads, "searched in the library's own thread, not on the loop"
    article(folder, "vpn-drops", "VPN keeps disconnecting", "Use the wired network.")
    signals.bump("kb")
    assert library.refresh()
    with np.load(folder / ".vectors.npz") as data:
        assert len(data["keys"]) == 2 + len(no_answer_examples()), "articles and examples"
    assert library.search("vpn keeps disconnecting").hits[0].article.article_id == "vpn-drops"


def test_a_digest_ending_in_a_zero_byte_is_read_back(
    tmp_path: Path, encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingEncoder(encoder, "zero-tail")
    text = next(
        t
        for i in range(100_000)
        if vector_cache._key(counting.model_id, t := f"article {i}").endswith(b"\0")
    )
    cache = tmp_path / "vectors.npz"
    article_vectors(counting, [text, "another article"], cache)
    monkeypatch.setattr(vector_cache, "_memory", {})
    article_vectors(counting, [text, "another article"], cache)
    assert len(counting.encoded) == 2, "numpy's byte strings would drop that zero"
