"""Platform adapters: translate a platform's payloads to `Incoming` and render `Reply`s."""
