"""Insight from what is recorded: read logs (per message, per contact), funnels (per template,
campaign step and broadcast) and the dashboard's figures. Queries only: nothing here writes,
except the audit entry of an export.

May import only the foundation.
"""
