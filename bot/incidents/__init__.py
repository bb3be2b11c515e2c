"""Major incidents: many people reporting the same thing at once become one incident.

- `signature`: what a report is about (service, site, content words), from its text.
- `grouping`: on every new ticket, in its transaction: join an open incident that
  matches, or open one when enough similar reports arrived within the window.
- `service`: what engineers do (declare, update, resolve, list) and what people are told.
"""
