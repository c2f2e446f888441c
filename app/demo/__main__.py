"""`python -m app.demo`: the portal against an embedded AWS emulator, with seeded users."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from .. import ROOT
from ..factory import create_app
from ..policy import policy_text
from ..tasks import InProcessConsumer

try:
    from . import emulator, seed
except ImportError as missing:  # the production image leaves the emulator out
    sys.exit(f"The demo needs its AWS emulator ({missing.name} is not installed): "
             "pip install -r requirements-demo.txt, or run `make demo`.")

_ROLE_HINTS = {
    "new hire": "no MFA yet, under the force-MFA policy: sign in and enroll",
    "abandoned device": "left an unfinished enrollment behind: the portal cleans it up silently",
    "enrolled": "has a working device: sign in and get session credentials",
    "admin": "enrolled admin: get session credentials, then open Admin",
}


def main(argv: list[str] | None = None) -> None:
    """Start the emulator, seed it, print who can sign in, and serve the portal on localhost."""
    parser = argparse.ArgumentParser(prog="python -m app.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--users", type=int, default=300, help="generated users besides the named ones")
    args = parser.parse_args(argv)

    # A fresh emulator forgets everything, so the demo's database starts fresh too.
    instance = Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance" / "demo")
    shutil.rmtree(instance, ignore_errors=True)
    os.environ["INSTANCE_PATH"] = str(instance)
    # Nothing here may reach real AWS: the demo's own calls go to the emulator only.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")

    aws = emulator.start()
    users = seed.seed_demo(policy_text("force-mfa"), extra_users=args.users,
                           admin_policy_document=policy_text("admin"))
    app = create_app({"DEMO_MODE": True, "AWS_ENDPOINT_URL": aws.endpoint_url, "AWS_REGION": "us-east-1",
                      "ADMIN_GROUPS": [seed.ADMIN_GROUP], "MFA_ISSUER": "demo-corp (demo)"})
    print(banner(f"http://127.0.0.1:{args.port}", aws.endpoint_url, users[:4], len(users)), flush=True)
    # Webhooks and reminders, delivered by the queue's consumer in this same process.
    consumer = InProcessConsumer(app).start()
    try:
        app.run(host="127.0.0.1", port=args.port, threaded=True, debug=False, use_reloader=False)
    finally:
        consumer.stop()
        aws.stop()


def banner(url: str, endpoint: str, named: list[seed.DemoUser], total: int) -> str:
    """Describe the demo: where it runs and which keys to sign in with (all fake)."""
    lines = [
        "", "AWS MFA self-service portal: DEMO MODE", f"  Portal:        {url}",
        f"  AWS emulator:  {endpoint} (moto; MFA codes are checked the way AWS checks them)",
        f"  Seeded users:  {total} (the dashboard shows them all)", "",
        "Sign in as one of these (fake keys, valid only in this emulator):",
    ]
    for user in named:
        lines += ["", f"  {user.name}  ({_ROLE_HINTS.get(user.role, user.role)})",
                  f"    Access key ID:     {user.access_key_id}",
                  f"    Secret access key: {user.secret_access_key}"]
        if user.mfa_seed and user.role != "abandoned device":
            lines.append(f"    Codes:             {_python()} -m app.demo.totp {user.mfa_seed}")
    lines += ["", "No phone at hand? Codes for the setup key shown while enrolling come from:",
              f"    {_python()} -m app.demo.totp <setup key>", "", "Stop with Ctrl-C.", ""]
    return "\n".join(lines)


def _python() -> str:
    """Name this interpreter the way the reader can type it from the project folder."""
    exe = Path(sys.executable)
    return str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else "python"


if __name__ == "__main__":
    main()
