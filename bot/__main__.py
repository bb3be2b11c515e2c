"""`python -m bot` is the same as the `helpdesk` command."""

from bot.cli import main

main()
