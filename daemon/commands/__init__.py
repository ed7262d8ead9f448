"""Staff commands by mail: one module per command, gathered in an explicit registry."""
