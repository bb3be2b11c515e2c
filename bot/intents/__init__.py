"""Understanding what a message asks for: intent detection in English and Cantonese."""

from bot.intents.classifier import IntentClassifier, IntentResult
from bot.intents.entities import (
    Entities,
    approval_answer,
    bare_answer,
    confirmation,
    find_entities,
    rating,
    rating_with_words,
    thanks_or_bye,
    yes_or_no,
)
from bot.intents.features import SentenceEncoder
from bot.intents.training_data import FALLBACK, INTENTS

__all__ = [
    "FALLBACK",
    "INTENTS",
    "Entities",
    "IntentClassifier",
    "IntentResult",
    "SentenceEncoder",
    "approval_answer",
    "bare_answer",
    "confirmation",
    "find_entities",
    "rating",
    "rating_with_words",
    "thanks_or_bye",
    "yes_or_no",
]
