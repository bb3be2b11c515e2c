"""The outbox: messages written in the same transaction as the change that causes them,
rendered once for every platform (`render`) and delivered by the platform's transport
(`transport`: the protocol; `worker`: retries, order per conversation, exactly once).
The rows themselves live in `bot.store.outbox`."""
