"""canceldesk's daemon: the stages between the inbox and the outbox, a package each (see the README's flow)."""
