"""Time the preview's re-render after a save: the sample site and a generated 1,500-page site.

Run from the checkout: ``PYTHONPATH=src python bench/preview_bench.py [--runs N]``. Each run is
what the preview does after a save (:func:`digestmail.web.preview.build.build_preview`: config,
every post, selection, rendering, the sample message, the rows and ``check``), in this process,
after one warm-up. Prints the median and best per site; the figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from digestmail.cli.listing import post_rows
from digestmail.web.preview.build import PreviewSettings, build_preview

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-15T12:00"
BODY = (
    "Die Werkstatt zeigt, wie Bürger*innen, Verwaltung und Vereine gemeinsam planen können. "
    "Es gibt [ein Programm](/programm/) und viele Beispiele aus kleinen Gemeinden.\n\n"
) * 4


def _sample(root: Path) -> Path:
    for name in ("config", "content", "templates"):
        shutil.copytree(REPO / name, root / name)
    return root / "config" / "digestmail.toml"


def _large(root: Path, pages: int) -> Path:
    config = _sample(root)
    sections = ("veranstaltungstipp", "nachricht", "publikation")
    for n in range(pages):
        section = sections[n % 3]
        folder = root / "content" / section
        folder.mkdir(parents=True, exist_ok=True)
        month = 1 + n % 12
        (folder / f"bench-{n}.md").write_text(
            f'---\ntitle: "Seite {n}"\ndate: 2026-{month:02d}-{1 + n % 28:02d}T09:00:00+01:00\n'
            f'categories: ["{section}"]\ntags: ["bench"]\n---\n{BODY}',
            encoding="utf-8",
        )
    return config


def _time(config: Path, runs: int) -> list[float]:
    from datetime import datetime

    settings = PreviewSettings(
        config_path=config,
        list_key="monthly",
        period="previous",
        now=datetime.fromisoformat(NOW),
        rows=post_rows,
    )
    first = build_preview(settings, version=0)
    assert first.ok, first.errors
    times = []
    for n in range(runs):
        started = time.perf_counter()
        build_preview(settings, version=n + 1)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pages", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = _sample(Path(tmp) / "sample")
        large = _large(Path(tmp) / "large", args.pages)
        for name, config in (("sample site", sample), (f"{args.pages}-page site", large)):
            times = _time(config, args.runs)
            print(
                f"{name}: median {statistics.median(times) * 1000:,.0f} ms, "
                f"best {min(times) * 1000:,.0f} ms ({args.runs} runs)"
            )


if __name__ == "__main__":
    main()
