"""Browser tests in headless Chromium against the real portal and emulator processes."""
