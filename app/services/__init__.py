"""Business logic with plain signatures: no Flask requests, no HTTP responses."""
