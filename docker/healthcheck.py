"""Docker health probe (no curl in slim images): exit 0 if the portal answers /healthz, or /readyz with --ready."""

import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import portal_hosts, server_settings  # noqa: E402  (needs the path above)


def main(argv: list[str]) -> int:
    """Ask the local gunicorn for liveness (default) or readiness (--ready: database and session store reachable)."""
    path = "/readyz" if "--ready" in argv else "/healthz"
    # A fixed loopback URL: nothing user-supplied reaches urlopen.
    url = f"http://127.0.0.1:{server_settings().port}{path}"
    # With PORTAL_HOSTS set the portal answers only to those names: the probe uses the first.
    hosts = portal_hosts()
    headers = {"Host": hosts[0].lstrip(".")} if hosts else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=3) as response:  # nosec B310
            return 0 if response.status == 200 and response.read() == b"ok" else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
