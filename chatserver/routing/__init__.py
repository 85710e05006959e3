"""Routing policy: priority tiers, SLA deadlines, queue order and agent matching.

Pure functions over plain values, so the policy is easy to read and to test.
"""
from .policy import (
    PRIORITY_TIERS,
    AgentView,
    QueueItem,
    can_take,
    first_response_due,
    initial_priority,
    panel_queue_language,
    queue_score,
    visible_queue,
)

__all__ = [
    "PRIORITY_TIERS",
    "AgentView",
    "QueueItem",
    "can_take",
    "first_response_due",
    "initial_priority",
    "panel_queue_language",
    "queue_score",
    "visible_queue",
]
