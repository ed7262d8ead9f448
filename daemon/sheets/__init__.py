"""The sheets side of the daemon: the database's cases projected onto billing, offboarding and planner sheets."""
