"""Understanding what a message asks for: intent detection in English and Cantonese."""

from bot.intents.classifier import INTENTS, IntentClassifier, IntentResult

__all__ = ["INTENTS", "IntentClassifier", "IntentResult"]
