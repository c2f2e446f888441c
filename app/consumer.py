"""`python -m app.consumer`: the queue consumer (events and reminders); gunicorn's master starts one per machine.

With --supervise it runs the consumer as its child and starts it again if it dies, and it stops with its
own parent (gunicorn's master): gunicorn reaps every child of its master itself, so a child it did not
fork cannot be watched from there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess  # nosec B404
import sys
import time
from datetime import timedelta

from .logs import configure

log = logging.getLogger("app.consumer")


def run_consumer() -> None:
    """Build the app, queue again whatever was left undone, then consume until told to stop."""
    # Here, not at the top: the supervisor (--supervise) runs this module too and must not load the portal.
    from . import tasks
    from .factory import create_app
    from .services import events, reminders

    app = create_app({"AUTO_MIGRATE": False})
    huey = tasks.queue(app)
    with app.app_context():
        tasks.sweep(late=timedelta(0))
    # Work a killed consumer had in hand is held until its claim lapses: look again just after that.
    huey.sweep.schedule(delay=max(events.CLAIM, reminders.CLAIM).total_seconds() + 1)
    consumer = huey.create_consumer(workers=app.config["QUEUE_WORKERS"], worker_type="thread", periodic=True,
                                    initial_delay=0.1, max_delay=2.0)
    consumer.run()  # SIGINT: finish the tasks in hand and stop; SIGTERM: stop now (the sweep redoes them)


def supervise() -> None:
    """Keep one consumer running while the parent lives; forward stop signals to it."""
    parent = os.getppid()
    child: subprocess.Popen | None = None
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            # Always Huey's graceful stop: the task in hand finishes (a try lasts seconds), the rest waits.
            child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    pause = 1.0
    while not stopping and os.getppid() == parent:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "app.consumer"])  # noqa: S603  # nosec B603
        while child.poll() is None:
            if os.getppid() != parent and not stopping:  # the master died without telling us
                stop(signal.SIGINT, None)
            time.sleep(0.5)
        if stopping:
            break
        # A consumer that dies at once (database away, say) is not restarted in a tight loop.
        pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
        log.warning("queue consumer exited with %s; starting it again in %.0f s", child.returncode, pause)
        time.sleep(pause)
    if child is not None:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def main(argv: list[str] | None = None) -> None:
    """Run the consumer, or (--supervise) a small supervisor that keeps one running."""
    parser = argparse.ArgumentParser(prog="python -m app.consumer", description=__doc__)
    parser.add_argument("--supervise", action="store_true", help="restart the consumer if it dies")
    args = parser.parse_args(argv)
    if args.supervise:
        # As the portal's own lines: text, or one JSON object a line with LOG_FORMAT=json.
        configure(os.environ.get("LOG_FORMAT") or "text", os.environ.get("LOG_LEVEL") or "INFO")
        supervise()
    else:
        run_consumer()  # create_app sets up logging the same way


if __name__ == "__main__":
    main()
