"""canceldesk's daemon: the stages between the inbox and the outbox (intake, classify, act, effects)."""
