"""What SpamAssassin thinks of the sample message: score and rules, local rules only.

Run as the spam test of the message stage runs it (``spamassassin -L -x -t``, no Bayes, no
network tests). It takes a second or more, so the page asks for it separately (``/spam``)
after it has shown the rendering, and a save is never slowed down by it. Without
``spamassassin`` on the PATH the page says so and nothing is scored.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

COMMAND = ("-L", "-x", "-t", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0")
TIMEOUT = 60

_SCORE = re.compile(
    r"^Content analysis details:\s+\((-?[\d.]+) points, (-?[\d.]+) required\)", re.M
)
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


@dataclass(frozen=True, slots=True)
class SpamReport:
    score: float
    required: float
    rules: tuple[tuple[float, str, str], ...]
    """(points, rule name, description), as SpamAssassin lists them."""


def spamassassin() -> str | None:
    return shutil.which("spamassassin")


def parse_report(report: str) -> SpamReport:
    """The score and rules of ``spamassassin -t``'s report; ValueError when there are none."""
    found = _SCORE.search(report)
    if found is None:
        raise ValueError("no 'Content analysis details' in SpamAssassin's report")
    rules: list[tuple[float, str, str]] = []
    table = report[found.end() :].split("\n----", 1)
    lines = table[1].splitlines()[1:] if len(table) == 2 else []
    for line in lines:
        rule = _RULE.match(line)
        if rule is not None:
            rules.append((float(rule.group(1)), rule.group(2), rule.group(3).strip()))
        elif line.startswith(" " * 10) and rules:  # a description continued
            points, name, text = rules[-1]
            rules[-1] = (points, name, f"{text} {line.strip()}")
        elif not line.strip():
            break
    return SpamReport(float(found.group(1)), float(found.group(2)), tuple(rules))


def score_message(data: bytes, program: str) -> SpamReport:
    """Score ``data`` (a whole message) with ``program``; OSError or ValueError when it fails."""
    try:
        result = subprocess.run(
            [program, *COMMAND], input=data, capture_output=True, check=True, timeout=TIMEOUT
        )
    except subprocess.CalledProcessError as exc:
        raise ValueError(f"spamassassin exited with {exc.returncode}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ValueError(f"spamassassin took more than {TIMEOUT} s") from exc
    return parse_report(result.stdout.decode("utf-8", "replace"))
