"""Docker HEALTHCHECK: exit 0 when the portal answers /healthz on its own port (slim images have no curl)."""

import os
import sys
import urllib.request


def main() -> int:
    """Ask the local gunicorn for /healthz."""
    # A fixed loopback URL: nothing user-supplied reaches urlopen.
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # nosec B310
            return 0 if response.status == 200 and response.read() == b"ok" else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
