"""Intent detection: a trained model over bilingual features, with calibrated confidence.

1. The message's entities are read (`entities.py`) and its features built: character
   n-grams, the concept-lexicon form, entity kinds, and a sentence encoder's vector when
   one is given (`features.py`).
2. A multinomial logistic regression trained on the shipped utterances (`model.py`)
   gives a probability per intent; the best is the intent, its probability the confidence.
3. When the two best are within `MARGIN` of each other the result is `close`: the engine
   asks one short question with both as buttons instead of guessing.
4. Below the threshold (`intents.threshold`), or with no word in it (`!!!`, an emoji,
   one letter repeated), the message is a knowledge question: the fallback, answered by search.

Why a trained model: the nearest-example matcher it replaced scored 0.99 on its own
hold-out but 0.867 on utterances written by someone who had not seen the examples; it
fitted the examples it was written with. Figures and how the constants were chosen:
README, "Intents".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from bot.config import IntentSettings
from bot.intents.entities import Entities, find_entities
from bot.intents.features import SentenceEncoder
from bot.intents.model import IntentModel, default_cache_dir, train_model
from bot.intents.training_data import FALLBACK, INTENTS, Utterance, shipped_utterances
from bot.language import detect_language, has_han
from bot.messages import Lang

MARGIN: Final = 0.25
"""Two intents closer than this in probability make the bot ask (chosen by cross-validation)."""


@dataclass(frozen=True)
class IntentResult:
    """What a message asks for, the runner-up, and whether the two are too close to call."""

    text: str
    intent: str
    confidence: float
    lang: Lang
    runner_up: str = FALLBACK
    runner_up_confidence: float = 0.0
    close: bool = False
    entities: Entities = field(default_factory=Entities)


class IntentClassifier:
    """Classify messages into one of `INTENTS`. Build once (cached); `classify` is cheap."""

    def __init__(
        self,
        threshold: float = IntentSettings.threshold,
        *,
        encoder: SentenceEncoder | None = None,
        utterances: Sequence[Utterance] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.threshold = threshold
        self.utterances = tuple(utterances) if utterances is not None else shipped_utterances()
        self.model: IntentModel = train_model(
            self.utterances,
            encoder=encoder,
            cache_dir=cache_dir if cache_dir is not None else default_cache_dir(),
        )

    @property
    def example_count(self) -> int:
        return len(self.utterances)

    def classify(self, text: str) -> IntentResult:
        lang = detect_language(text)
        entities = find_entities(text[:1000])
        letters = {ch for ch in text[:1000] if ch.isalnum()}
        if len(letters) < 2 and not has_han(text):  # "!!!", "🙂", "xxxx": nothing to read
            return IntentResult(text, FALLBACK, 0.0, lang, entities=entities)
        probabilities = self.model.probabilities([text])[0]
        second, first = (int(i) for i in np.argsort(probabilities)[-2:])
        confidence = round(float(probabilities[first]), 3)
        runner_up = round(float(probabilities[second]), 3)
        close = confidence - runner_up < MARGIN
        intent = INTENTS[first]
        if confidence < self.threshold and not close:
            intent = FALLBACK
        return IntentResult(
            text, intent, confidence, lang, INTENTS[second], runner_up, close, entities
        )
