"""Understanding what a message asks for: intent detection in English and Cantonese."""

from bot.intents.classifier import IntentClassifier, IntentResult
from bot.intents.entities import Entities, find_entities
from bot.intents.features import SentenceEncoder
from bot.intents.training_data import FALLBACK, INTENTS

__all__ = [
    "FALLBACK",
    "INTENTS",
    "Entities",
    "IntentClassifier",
    "IntentResult",
    "SentenceEncoder",
    "find_entities",
]
