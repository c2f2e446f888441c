"""A pytest plugin: the run's last lines say, in one line, what was skipped and why (a fresh machine lacks services)."""

from __future__ import annotations

from collections import Counter


def skip_reasons(reports) -> Counter:
    """Count skipped tests by their reason ("Skipped: " and the location left out)."""
    reasons: Counter = Counter()
    for report in reports:
        longrepr = getattr(report, "longrepr", None)
        text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
        reasons[text.removeprefix("Skipped: ").strip() or "no reason given"] += 1
    return reasons


def skip_line(reasons: Counter) -> str:
    """One line: how many were skipped, then each reason with its count, the most frequent first."""
    total = sum(reasons.values())
    parts = [f"{count} × {reason}" if count > 1 else reason for reason, count in reasons.most_common()]
    return f"Skipped {total} test{'s' if total != 1 else ''}: " + "; ".join(parts)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Write the skip line after everything else the summary says (nothing when nothing was skipped)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(skip_line(skip_reasons(skipped)), yellow=True, bold=True)
