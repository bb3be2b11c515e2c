"""Intent detection: accuracy on labelled utterances, and the admin's CLI view of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.intents import INTENTS, IntentClassifier
from bot.intents.model import _fitted
from bot.intents.training_data import Utterance
from bot.language import has_han

DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier()


def test_labelled_set_is_large_bilingual_and_covers_every_intent() -> None:
    rows = _load("intents_labelled.jsonl")
    assert len(rows) >= 150
    assert sum(r["lang"] == "zh" for r in rows) / len(rows) >= 0.30
    assert set(Counter(r["intent"] for r in rows)) <= set(INTENTS)


@pytest.mark.parametrize("name", ["intents_labelled.jsonl", "intents_holdout.jsonl"])
def test_intent_accuracy_is_at_least_90_percent(classifier: IntentClassifier, name: str) -> None:
    rows = _load(name)
    wrong = [
        (r["text"], r["intent"], got.intent)
        for r in rows
        if (got := classifier.classify(r["text"])).intent != r["intent"]
    ]
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= 0.90, f"accuracy {accuracy:.3f}; wrong: {wrong}"


@pytest.mark.parametrize("name", ["intents_labelled.jsonl", "intents_holdout.jsonl"])
def test_chinese_accuracy_holds_up_too(classifier: IntentClassifier, name: str) -> None:
    rows = [r for r in _load(name) if r["lang"] == "zh"]
    right = sum(classifier.classify(r["text"]).intent == r["intent"] for r in rows)
    assert right / len(rows) >= 0.90


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("acc locked again!!", "unlock"),
        ("reset my pw pls", "password_reset"),
        ("我個account鎖咗", "unlock"),
        ("點樣改密碼", "password_reset"),
        ("do i have visio?", "licence_check"),
        ("am i in the vpn group?", "group_check"),
        ("vpn keeps disconnecting", "kb_question"),
        ("HD-1042 any update?", "ticket_status"),
        ("talk to a human", "human"),
        ("hi", "greeting"),
        ("唔該晒，bye", "thanks_bye"),
        ("HD-1042 唔使喇，取消佢", "ticket_cancel"),
        ("reopen HD-1042, the problem is back", "ticket_reopen"),
        ("can I get a second monitor", "request"),
        ("trading system is down for the whole floor", "urgent_outage"),
    ],
)
def test_issue_examples(classifier: IntentClassifier, text: str, intent: str) -> None:
    assert classifier.classify(text).intent == intent


@pytest.mark.parametrize(
    "text", ["", "   ", "!!!???", "🙂🙂🙂", "\x00\x01", "x" * 100_000, "SELECT * FROM"]
)
def test_odd_input_falls_back_to_a_knowledge_question(
    classifier: IntentClassifier, text: str
) -> None:
    result = classifier.classify(text)
    assert result.intent == "kb_question"
    assert 0.0 <= result.confidence <= 1.0


def test_language_is_detected_per_message(classifier: IntentClassifier) -> None:
    assert classifier.classify("my account is locked").lang == "en"
    assert classifier.classify("我個account鎖咗").lang == "zh-Hant"


def test_classify_cli_reads_stdin_and_prints_json_lines(tmp_path: Path) -> None:
    lines = "hi\nmy account is locked\n點樣改密碼\n\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "intents", "classify", "--json", "-"],
        input=lines.encode(),
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["intent"] for r in records] == ["greeting", "unlock", "password_reset", "kb_question"]
    assert set(records[0]) == {"text", "intent", "confidence", "lang", "top", "ask"}
    top = records[1]["top"]
    assert top[0]["intent"] == "unlock" and len(top) == 2
    assert top[0]["confidence"] >= top[1]["confidence"]
    assert records[2]["lang"] == "zh-Hant" and records[2]["text"] == "點樣改密碼"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我張單HD-1042有冇進展呀", "ticket_status"),
        ("transfer me to the helpdesk", "human"),
        ("I'm locked out of office 365", "unlock"),
    ],
)
def test_the_misses_named_in_the_issue_are_understood(
    classifier: IntentClassifier, text: str, intent: str
) -> None:
    assert classifier.classify(text).intent == intent


def test_right_answers_are_more_confident_than_wrong_ones_on_the_labelled_sets(
    classifier: IntentClassifier,
) -> None:
    rows = _load("intents_labelled.jsonl") + _load("intents_holdout.jsonl")
    results = [(classifier.classify(r["text"]), r["intent"]) for r in rows]
    right = [res.confidence for res, truth in results if res.intent == truth]
    wrong = [res.confidence for res, truth in results if res.intent != truth]
    assert wrong, "the sets are hard enough to have some misses"
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.1


def test_the_result_names_the_runner_up_and_the_entities(classifier: IntentClassifier) -> None:
    result = classifier.classify("HD-1042 any update?")
    assert result.runner_up in INTENTS and result.runner_up != result.intent
    assert 0.0 <= result.runner_up_confidence <= result.confidence <= 1.0
    assert [t.number for t in result.entities.tickets] == [1042]


def test_a_model_is_cached_by_a_hash_of_its_training_data(tmp_path: Path) -> None:
    utterances = [
        Utterance(text, intent)
        for intent, texts in {
            "unlock": ["my account is locked", "account locked again", "我個account鎖咗"],
            "password_reset": ["reset my password", "forgot my password", "我唔記得咗密碼"],
        }.items()
        for text in texts
    ]
    first = IntentClassifier(utterances=utterances, cache_dir=tmp_path)
    files = list(tmp_path.glob("intents-*.npz"))
    assert len(files) == 1
    _fitted.clear()
    again = IntentClassifier(utterances=utterances, cache_dir=tmp_path)
    assert again.classify("account locked").intent == first.classify("account locked").intent
    assert (
        again.classify("account locked").confidence == first.classify("account locked").confidence
    )
    IntentClassifier(
        utterances=[*utterances, Utterance("pw expired", "password_reset")], cache_dir=tmp_path
    )
    assert len(list(tmp_path.glob("intents-*.npz"))) == 2


class _LengthEncoder:
    """A real (if crude) sentence encoder: counts of Han, Latin and digit characters."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        return np.asarray(
            [
                [sum(map(has_han, t)), sum(c.isascii() and c.isalpha() for c in t), 1.0]
                for t in texts
            ],
            np.float32,
        )


def test_a_sentence_encoder_is_used_when_one_is_given() -> None:
    encoder = _LengthEncoder()
    with_encoder = IntentClassifier(encoder=encoder)
    assert with_encoder.model.weights.dense is not None
    calls = encoder.calls
    assert with_encoder.classify("我個account鎖咗").intent == "unlock"
    assert encoder.calls == calls + 1
    assert IntentClassifier().model.weights.dense is None
