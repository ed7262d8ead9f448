"""Mail out: templates rendered, messages composed, capped and queued, delivered after commit."""
