"""Log records are masked like chat: message, arguments and exception text."""

from __future__ import annotations

import io
import logging

from bot import log_redaction
from bot.redact import MASK


def test_a_secret_in_a_log_message_its_arguments_or_an_exception_is_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.log_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log_redaction.install(logger)
        logger.warning("user said my password is Canary-Log-1!")
        logger.warning("args: %s and %d", "pw: CanaryLog#2", 7)
        logger.warning("mapping: %(said)s", {"said": "我password係 CanaryLog#4"})
        try:
            raise ValueError("credentials are jdoe:CanaryLog3x")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for canary in ("Canary-Log-1!", "CanaryLog#2", "CanaryLog3x", "CanaryLog#4"):
        assert canary not in out
    # the traceback shows the secret twice: the source line and the exception's message
    assert out.count(MASK) == 5 and "and 7" in out and "ValueError" in out


def test_installing_twice_puts_one_filter_on_each_root_handler() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        log_redaction.install()
        log_redaction.install()
        assert sum(isinstance(f, log_redaction.SecretFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
