"""Tickets: the model, SLA clocks, the service that changes them, the triage view."""
