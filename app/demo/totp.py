"""`python -m app.demo.totp SETUP_KEY`: an authenticator app in the terminal, for the demo."""

from __future__ import annotations

import sys
import time

import pyotp

from app.demo.hardware import hardware_seed


def main(argv: list[str] | None = None) -> int:
    """Print the current and the next code for a setup key, and when the code changes."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m app.demo.totp SETUP_KEY  (or a demo hardware token's serial, GAHT + 8 digits)",
              file=sys.stderr)
        return 2
    key = "".join(args[0].split()).upper()
    if key.startswith("GAHT"):
        key = hardware_seed(key)  # any GAHT serial is a token in the demo
    totp = pyotp.TOTP(key)
    now = time.time()
    print(f"current code: {totp.at(now)}   next code: {totp.at(now + 30)}   "
          f"(changes in {30 - int(now) % 30} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
