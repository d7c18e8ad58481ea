"""Event bus: the outbox table plus notifiers that wake live subscribers."""
