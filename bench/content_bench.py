"""Time ``digestmail posts`` end to end next to ``hugo list all`` on a generated 10,000-post site.

Both run as fresh processes (Python start-up and imports included), after one warm-up run each
so that both read from a warm page cache; runs alternate so background load hits both alike.
Usage::

    python bench/content_bench.py [--posts 10000] [--runs 5] [--keep DIR]

Prints a Markdown table (best and median wall time) ready for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATEGORIES = ("veranstaltungstipp", "nachricht", "publikation")
NOW = "2026-11-24T12:00:00"
WORDS = [
    "Beteiligung",
    "Bürger*innen",
    "Kommune",
    "Rathaus",
    "Werkstatt",
    "Quartier",
    "Verwaltung",
    "Ideen",
    "Verein",
    "Nachbarschaft",
    "gestalten",
    "gemeinsam",
    "Termin",
    "Anmeldung",
    "Seminar",
    "Stadtteil",
    "Zukunft",
    "offen",
]

HUGO_CONFIG = """\
baseURL = "https://www.example.org/"
timeZone = "Europe/Berlin"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
[permalinks]
veranstaltungstipp = "/:section/:year/:month/:slug/"
"""

DIGESTMAIL_CONFIG = """\
[site]
title = "Benchmark"
base_url = "https://www.example.org/"
language = "de"
timezone = "Europe/Berlin"
[site.permalinks]
veranstaltungstipp = "/:section/:year/:month/:slug/"
[state]
path = "state/never-created.sqlite"
[lists.monthly]
name = "Tipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["veranstaltungstipp"]
"""

POST = """\
---
title: "{title}"
date: "{date}"
draft: {draft}
author: "Redaktion"
categories: "{category}"
tags: ["{tag}", ""]
thumbnail: ""
headline:
  enabled: false
  background: ""
---

# {title}

Termin: {date}; Ort: Musterstadt

<!--more-->

{body}
"""


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def generate(root: Path, posts: int) -> None:
    """A Hugo site and a digestmail project in one directory, seed-shaped posts over 2 years."""
    rng = random.Random(2017)
    (root / "config" / "subscribers").mkdir(parents=True)
    (root / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (root / "config" / "digestmail.toml").write_text(DIGESTMAIL_CONFIG, encoding="utf-8")
    (root / "config" / "subscribers" / "monthly.csv").write_text("email\na@example.org\n")
    for category in CATEGORIES:
        (root / "content" / category).mkdir(parents=True)
    for i in range(posts):
        category = CATEGORIES[i % len(CATEGORIES)]
        day = rng.randrange(730)
        year, rest = 2024 + day // 365, day % 365
        month, dom = 1 + rest // 31 % 12, 1 + rest % 28
        body = "\n\n".join(paragraph(rng, rng.randrange(40, 120)) for _ in range(4))
        text = POST.format(
            title=f"Veranstaltung {i}: {rng.choice(WORDS)} in Musterstadt",
            date=f"{year}-{month:02d}-{dom:02d}T{rng.randrange(24):02d}:00:00",
            draft="true" if i % 97 == 0 else "false",
            category=category,
            tag=rng.choice(WORDS),
            body=body,
        )
        (root / "content" / category / f"post-{i:05d}.md").write_text(text, encoding="utf-8")


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def timed(commands: list[list[str]], cwd: Path, runs: int) -> list[list[tuple[float, float]]]:
    """(wall, cpu) per run and command; runs alternate so both see the same background load."""
    for cmd in commands:
        run(cmd, cwd)  # warm-up: page cache, .pyc files
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for i, cmd in enumerate(commands):
            times[i].append(run(cmd, cwd))
    return times


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the site here and keep it")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="digestmail-bench-"))
    try:
        if not (root / "content").exists():
            generate(root, args.posts)
        digestmail = [
            sys.executable,
            "-m",
            "digestmail",
            "--config",
            str(root / "config" / "digestmail.toml"),
            "posts",
            "--list",
            "monthly",
            "--period",
            "previous",
            "--now",
            NOW,
            "--format",
            "json",
        ]
        rows = [("digestmail posts --list monthly --period previous --format json", digestmail)]
        hugo = shutil.which("hugo")
        if hugo:
            rows.append(("hugo list all", [hugo, "list", "all", "--source", str(root)]))
        print(f"{args.posts} posts, {args.runs} runs after one warm-up; seconds (CPU = user + sys)")
        print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
        print()
        print("| command | wall best | wall median | CPU best | CPU median |")
        print("|---|---:|---:|---:|---:|")
        results = timed([cmd for _, cmd in rows], root, args.runs)
        for (label, _), times in zip(rows, results, strict=True):
            wall = [w for w, _ in times]
            cpu = [c for _, c in times]
            print(
                f"| `{label}` | {min(wall):.2f} | {statistics.median(wall):.2f}"
                f" | {min(cpu):.2f} | {statistics.median(cpu):.2f} |"
            )
        if not hugo:
            print("\n(hugo not found on PATH: no comparison)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
