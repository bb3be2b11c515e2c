"""The knowledge search's confidence model and the script that learns it."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bot.knowledge import KnowledgeBase, load_articles
from bot.knowledge import confidence as model
from bot.knowledge.confidence import FEATURES, Evidence, confidence

ROOT = Path(__file__).resolve().parent.parent


def training_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_confidence", ROOT / "tools" / "train_confidence.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase(load_articles(ROOT / "kb"))


MIDDLING = Evidence(
    blend=0.5,
    share=0.5,
    cosine=0.45,
    nearest=0.45,
    stand_out=0.08,
    unknown=0.2,
    agree=0.0,
    chinese=0.0,
    words=1.4,
)


def test_the_shipped_model_has_a_number_for_every_feature() -> None:
    assert set(model.COEFFICIENTS) == set(FEATURES)
    assert all(np.isfinite(v) for v in model.COEFFICIENTS.values())


@pytest.mark.parametrize("feature", ["blend", "share", "cosine", "nearest", "stand_out"])
def test_more_evidence_of_an_answer_raises_the_confidence(feature: str) -> None:
    more = dataclasses.replace(MIDDLING, **{feature: getattr(MIDDLING, feature) + 0.2})
    assert confidence(more) > confidence(MIDDLING)


def test_words_the_kb_does_not_know_lower_the_confidence() -> None:
    assert confidence(dataclasses.replace(MIDDLING, unknown=0.8)) < confidence(MIDDLING)
    assert 0.0 <= confidence(dataclasses.replace(MIDDLING, cosine=1e6)) <= 1.0


def test_a_search_reports_the_evidence_its_confidence_read(kb: KnowledgeBase) -> None:
    result = kb.search("outlook keeps asking for my password")
    assert result.evidence is not None
    assert result.confidence == pytest.approx(confidence(result.evidence), abs=1e-4)
    assert result.evidence.agree == 1.0 and result.evidence.unknown == 0.0


def test_a_corrected_reading_is_read_by_the_confidence_but_does_not_rank(
    kb: KnowledgeBase,
) -> None:
    typed = kb.search("outlok keeps asking pasword", limit=5)
    assert typed.answered
    assert typed.evidence is not None and typed.evidence.cosine > 0.5
    plain = KnowledgeBase(load_articles(ROOT / "kb"), encoder=None)
    assert plain.search("vpn").evidence is None


def test_logistic_fit_recovers_a_known_model() -> None:
    script = training_script()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 2))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0] - 1.0 * x[:, 1])))).astype(float)
    intercept, coef = script.fit(x, y, np.ones(4000), 0.0)
    assert intercept == pytest.approx(0.5, abs=0.15)
    assert coef == pytest.approx([2.0, -1.0], abs=0.2)


def test_threshold_is_chosen_for_the_best_abstention_f1() -> None:
    script = training_script()
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    assert script.abstention(p, y, 0.25) == (1.0, 1.0)
    assert 0.2 < script.best_threshold(p, y) <= 0.3


def test_write_model_replaces_only_the_numbers(tmp_path: Path) -> None:
    script = training_script()
    copy = tmp_path / "confidence.py"
    shutil.copy(ROOT / "bot" / "knowledge" / "confidence.py", copy)
    script.write_model(-1.5, {name: 0.25 for name in FEATURES}, copy)
    text = copy.read_text("utf-8")
    assert "INTERCEPT = -1.5\n" in text
    assert text.count(": 0.25,") == len(FEATURES)
    assert "def confidence(" in text
