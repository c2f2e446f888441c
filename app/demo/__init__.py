"""Demo mode: an embedded AWS emulator with seeded users."""
