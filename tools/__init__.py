"""Developer tools: the live-portal harness and the README screenshot script."""
