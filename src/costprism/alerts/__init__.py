"""Alerts: channels (e-mail, Slack, Teams, signed webhook, log file), routing by scope
owner and role, immediate alerts and digests, and the deliveries that make
``costprism alerts run`` idempotent. See docs/how-to/alerts.md.
"""
