"""helpdesk-bot: a chat-ops IT helpdesk bot (Slack, Microsoft Teams and the terminal)."""

__version__ = "0.1.0"
