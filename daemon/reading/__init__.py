"""Reading a stored mail: what it is, whom it is from, which case it belongs to."""
