"""The self-service safety core, by layer (no chat reply, no chat turn in here):

- `context`    what an action is given (`ActionContext`, a handler's `Turn` is one) and
               what it returns (`Outcome`: a catalogue key, its parameters, done or not);
- `guardrails` protected accounts, rate limits and cooldowns, the lockout-burst pause;
- `actions`    check -> act -> audit -> notify -> Outcome (unlock, reset, group member);
- `approvals`, `approval_ask`, `approval_answers`  who approves, asking, their answer;
- `recovery`   rule 7: an integration down -> a plain answer, a ticket, an audit record
               (the engine applies it to every handler, `bot.engine.Engine._run`).

The safety rules (DESIGN.md "Self-service safety rules"; each has a test):

- The account acted on is the one behind the actor's verified email, looked up again by
  its immutable id just before any change; never a name typed in chat.
- Privileged (adminCount, nested protected groups), service, disabled and out-of-scope
  accounts are refused, audited, and security is alerted (not for disabled ones).
- Unlocks and resets are limited per day and spaced by cooldowns; denied approvals
  (`max_failed_verifications` in 24 h) lock the user's self-service for the day.
- Verification is set per action: "none" (unlock only) or "approval" by the user's manager
  (AD `manager`) or else `oncall_approver`, with a one-time nonce that expires. Anyone
  else's click is refused and audited.
- A secret (a temporary password, a Temporary Access Pass) exists only in the reply that
  shows it: private, deleted after `secret_minutes` where the platform can, never in the
  outbox, a ticket, a log, the database or the audit log.
- If many accounts lock out within `burst_window_minutes`, self-service unlocks pause and
  security is alerted once per window (a password-spray sign).
- When an integration is down or fails, the user is told plainly and a ticket is opened
  with the context; a reset is one directory change, so nothing is half-applied.
- Engineers may act on someone else's account for an open ticket raised by that account,
  their role checked against a directory group, audited with the ticket
  (`bot.handlers.on_behalf`).
- Every action and refusal writes one audit record (`tests/test_refusals.py`).
"""
