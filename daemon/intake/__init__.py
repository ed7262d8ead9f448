"""Intake: the mailbox's mail stored before the server forgets it, and the pass that processes it."""
