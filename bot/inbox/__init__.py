"""The durable inbound queue: claim and store before the ack, process, finish with the
replies (`store`: `Inbox`; `worker`: `InboxWorker`; `held`: secrets kept out of the
store; `codec`: `Incoming`/`Reply` as JSON)."""

from bot.inbox.held import HeldSecrets
from bot.inbox.store import Inbox, Stored
from bot.inbox.worker import InboxWorker

__all__ = ["HeldSecrets", "Inbox", "InboxWorker", "Stored"]
