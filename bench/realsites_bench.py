"""Hold ``digestmail posts`` against ``hugo list all`` on a real Hugo site: fields and speed.

Run on demand with a site folder holding ``content/``, ``hugo.toml`` and ``digestmail.toml``
(such as ``../shared/realsites/linkerd``)::

    python bench/realsites_bench.py --site DIR [--runs 5] [--config PATH] [--hugo-config PATH]
                                   [--mismatches 10] [--json]

The site is copied to a temporary folder (DIR may be read-only, and ``hugo list`` leaves
``public/``, ``resources/`` and ``.hugo_build.lock`` behind) and both tools run there. Pages are
matched by their path under the content folder and compared field by field (title, slug, date,
publishDate, expiryDate, draft, permalink). Hugo 0.111's ``list all`` prints regular pages only
(drafts, future and expired included; no ``_index.md``), as ``digestmail posts`` lists posts;
rows a newer Hugo marks with another ``kind`` are dropped. Dates are equal when they are the same
instant with the same UTC offset (``Z`` is ``+00:00``); Hugo's ``0001-01-01T00:00:00Z`` is no
date. Both commands are timed as fresh processes: one warm-up run each (the run whose output is
compared), then ``--runs`` alternating runs. Prints Markdown for ``docs/benchmarks.md``; always
exits 0 once both tools have run, as it is a report, not a test.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

HUGO_LEFTOVERS = ("public", "resources", ".hugo_build.lock")
# Compares a Hugo value with a digestmail one: (equal, a note on how an unequal pair differs).
Comparer = Callable[[Any, Any], tuple[bool, str]]


def parse_date(value: Any) -> datetime | str | None:
    if value in (None, "") or str(value).startswith(("0001-01-01", "0000-")):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)


def same_date(hugo: Any, ours: Any) -> tuple[bool, str]:
    a, b = parse_date(hugo), parse_date(ours)
    if isinstance(a, datetime) and isinstance(b, datetime):
        if a.utcoffset() is None or b.utcoffset() is None:
            return a.replace(tzinfo=None) == b.replace(tzinfo=None), "naive date"
        if a == b:
            return a.utcoffset() == b.utcoffset(), "same instant, other offset"
        if a.replace(tzinfo=None) == b.replace(tzinfo=None):
            return False, "same wall time, other offset"
        return False, "other day" if a.date() != b.date() else "same day, other time"
    if a is None or b is None:
        return a is b, "missing in digestmail" if b is None else "missing in Hugo"
    return a == b, "unparsed"


def same_text(hugo: Any, ours: Any) -> tuple[bool, str]:
    a, b = str(hugo or ""), str(ours or "")
    if a == b:
        return True, ""
    if " ".join(a.split()) == " ".join(b.split()):
        return False, "whitespace only"
    return False, "empty in digestmail" if not b else "empty in Hugo" if not a else ""


def same_link(hugo: Any, ours: Any) -> tuple[bool, str]:
    equal, note = same_text(hugo, ours)
    if not equal and unquote(str(hugo)) == unquote(str(ours or "")):
        note = "equal after percent-decoding"
    return equal, note


def same_bool(hugo: Any, ours: Any) -> tuple[bool, str]:
    return str(hugo).lower() == str(ours).lower(), ""


# (label, Hugo CSV column, digestmail JSON key, comparer)
FIELDS: tuple[tuple[str, str, str, Comparer], ...] = (
    ("title", "title", "front_matter_title", same_text),  # "title" is the digest's
    ("slug", "slug", "slug", same_text),
    ("date", "date", "date", same_date),
    ("publishDate", "publishDate", "publish_date", same_date),
    ("expiryDate", "expiryDate", "expiry_date", same_date),
    ("draft", "draft", "draft", same_bool),
    ("permalink", "permalink", "permalink", same_link),
)


def norm_path(path: str) -> str:
    return unicodedata.normalize("NFC", PurePosixPath(path.replace("\\", "/")).as_posix())


def copy_site(site: Path, dest: Path) -> None:
    ignore = shutil.ignore_patterns(*HUGO_LEFTOVERS)
    shutil.copytree(site, dest, ignore=ignore, copy_function=shutil.copyfile)
    for folder, _, _ in os.walk(dest):  # copytree keeps the folders' read-only modes
        Path(folder).chmod(0o755)


def place_config(given: Path | None, site: Path, copy: Path, default: str) -> Path:
    """The config inside the copy: digestmail resolves paths from its config's folder."""
    if given is None:
        return copy / default
    source = given if given.exists() else site / given
    target = copy / source.name
    if source.resolve() != (site / source.name).resolve():
        shutil.copyfile(source, target)
    return target


def clean(root: Path) -> None:
    for path in (root / name for name in HUGO_LEFTOVERS):
        if path.is_dir():
            shutil.rmtree(path)
        path.unlink(missing_ok=True)


def run(
    cmd: list[str], cwd: Path, capture: bool = False
) -> tuple[float, subprocess.CompletedProcess[str]]:
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=out, text=True, check=False)
    return time.perf_counter() - start, done


def compare(
    hugo_rows: list[dict[str, str]], dm_rows: list[dict[str, Any]], limit: int
) -> dict[str, Any]:
    hugo = {r["path"]: r for r in hugo_rows}
    ours = {r["path"]: r for r in dm_rows}
    both = sorted(hugo.keys() & ours.keys())
    fields = {}
    for label, column, key, same in FIELDS:
        pairs = ((path, hugo[path].get(column), ours[path].get(key)) for path in both)
        bad = [
            {"path": path, "hugo": a, "digestmail": b, "note": note}
            for path, a, b in pairs
            for equal, note in [same(a, b)]
            if not equal
        ]
        notes = Counter(e["note"] for e in bad if e["note"])
        fields[label] = {
            "agree": len(both) - len(bad),
            "compared": len(both),
            "percent": round(100 * (len(both) - len(bad)) / len(both), 2) if both else None,
            "mismatches": len(bad),
            "notes": dict(notes.most_common()),
            "examples": bad[:limit],
        }
    return {
        "pages": {"hugo": len(hugo), "digestmail": len(ours), "both": len(both)},
        "only_hugo": sorted(hugo.keys() - ours.keys()),
        "only_digestmail": sorted(ours.keys() - hugo.keys()),
        "fields": fields,
    }


def read_hugo(text: str, content_dir: str) -> list[dict[str, str]]:
    prefix = norm_path(content_dir).rstrip("/") + "/"
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        path = norm_path(row.get("path", ""))
        if row.get("kind", "page") != "page" or PurePosixPath(path).stem == "_index":
            continue
        rows.append({**row, "path": path.removeprefix(prefix)})
    return rows


def machine(hugo: str) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    repo = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"]
    return {
        "nproc": str(os.cpu_count()),
        "cpu": models[0] if models else platform.processor() or "unknown",
        "python": platform.python_version(),
        "hugo": subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip(),
        "digestmail_commit": subprocess.run(git, capture_output=True, text=True).stdout.strip(),
    }


def cell(value: Any, width: int = 90) -> str:
    text = "—" if value is None else json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("|", "\\|")


def markdown(report: dict[str, Any]) -> str:
    m, c, t = report["machine"], report["comparison"], report["timings"]
    pages = c["pages"]
    out = [
        f"### Real site: {report['site']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['hugo']}, "
        f"digestmail at `{m['digestmail_commit']}`",
        "",
        f"Pages: Hugo {pages['hugo']}, digestmail {pages['digestmail']}, in both {pages['both']}; "
        f"only Hugo {len(c['only_hugo'])}, only digestmail {len(c['only_digestmail'])}.",
        "",
        "| field | agree | compared | agreement |",
        "|---|---:|---:|---:|",
    ]
    for label, f in c["fields"].items():
        pct = "—" if f["percent"] is None else f"{f['percent']:.1f} %"
        out.append(f"| {label} | {f['agree']} | {f['compared']} | {pct} |")
    for label, f in c["fields"].items():
        if not f["mismatches"]:
            continue
        notes = ", ".join(f"{n} × {k}" for k, n in f["notes"].items())
        out += ["", f"**{label}**: {f['mismatches']} mismatches" + (f" ({notes})" if notes else "")]
        out += ["", "| path | hugo | digestmail | note |", "|---|---|---|---|"]
        for e in f["examples"]:
            out.append(
                f"| `{e['path']}` | {cell(e['hugo'])} | {cell(e['digestmail'])} | {e['note']} |"
            )
    limit = report["limit"]
    for side in ("only_hugo", "only_digestmail"):
        if c[side]:
            shown = ", ".join(f"`{p}`" for p in c[side][:limit])
            more = f" (+{len(c[side]) - limit} more)" if len(c[side]) > limit else ""
            out += ["", f"Listed {side.replace('_', ' by ')}: {shown}{more}"]
    out += ["", f"Timings ({report['runs']} runs after one warm-up, wall seconds):", ""]
    out += ["| command | median | min |", "|---|---:|---:|"]
    for name in ("hugo", "digestmail"):
        out.append(f"| `{t[name]['command']}` | {t[name]['median']:.3f} | {t[name]['min']:.3f} |")
    ratio = t["digestmail"]["median"] / t["hugo"]["median"]
    verdict = "met" if ratio <= 1 else "missed"
    out += ["", f"Speed target (digestmail median <= Hugo median): {verdict}, ratio {ratio:.2f}."]
    for name, err in report["stderr"].items():
        if err:
            out += ["", f"{name} stderr (first lines):", "", "```", *err, "```"]
    return "\n".join(out)


def commands(args: argparse.Namespace, site: Path, copy: Path) -> tuple[list[str], list[str], str]:
    """hugo's and digestmail's command lines in the copy, and Hugo's content folder."""
    hugo, venv_bin = shutil.which("hugo"), Path(sys.executable).parent / "digestmail"
    digestmail = str(venv_bin) if venv_bin.exists() else shutil.which("digestmail")
    if hugo is None or digestmail is None:
        sys.exit("needs both hugo and digestmail on PATH")
    dm_config = place_config(args.config, site, copy, "digestmail.toml")
    hugo_cmd = [hugo, "list", "all", "--source", str(copy)]
    hugo_config = place_config(args.hugo_config, site, copy, "hugo.toml")
    if args.hugo_config is not None:
        hugo_cmd += ["--config", str(hugo_config)]
    if not hugo_config.exists():
        hugo_config = copy / "config.toml"
    read = hugo_config.suffix == ".toml" and hugo_config.exists()
    settings = tomllib.loads(hugo_config.read_text(encoding="utf-8")) if read else {}
    content_dir = str(settings.get("contentDir", settings.get("contentdir", "content")))
    return (
        hugo_cmd,
        [digestmail, "--config", str(dm_config), "posts", "--format", "json"],
        content_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--site", type=Path, required=True, help="Hugo site folder")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--config", type=Path, help="digestmail config (default: DIR's)")
    parser.add_argument("--hugo-config", type=Path, help="Hugo config (default: DIR's)")
    parser.add_argument("--mismatches", type=int, default=10, help="examples shown per field")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()

    site: Path = args.site.resolve()
    with tempfile.TemporaryDirectory(prefix="digestmail-realsite-") as tmp:
        copy = Path(tmp) / site.name
        copy_site(site, copy)
        hugo_cmd, dm_cmd, content_dir = commands(args, site, copy)
        # The warm-up runs, whose output is the one compared.
        hugo_time, hugo_done = run(hugo_cmd, copy, capture=True)
        clean(copy)
        dm_time, dm_done = run(dm_cmd, copy, capture=True)
        if hugo_done.returncode != 0 or dm_done.returncode not in (0, 2):  # 2: some posts unread
            sys.exit(
                f"hugo exit {hugo_done.returncode}: {hugo_done.stderr}\n"
                f"digestmail exit {dm_done.returncode}: {dm_done.stderr}"
            )
        times: dict[str, list[float]] = {"hugo": [], "digestmail": []}
        for _ in range(args.runs):  # alternating, so background load hits both alike
            times["hugo"].append(run(hugo_cmd, copy)[0])
            clean(copy)
            times["digestmail"].append(run(dm_cmd, copy)[0])

    hugo_rows = read_hugo(hugo_done.stdout, content_dir)
    dm_rows = [{**r, "path": norm_path(r["path"])} for r in json.loads(dm_done.stdout)]

    def timing(cmd: list[str], runs: list[float], warm: float) -> dict[str, Any]:
        shown = [Path(cmd[0]).name, *(a.replace(str(copy), "DIR") for a in cmd[1:])]
        return {
            "command": " ".join(shown),
            "median": statistics.median(runs or [warm]),
            "min": min(runs or [warm]),
            "runs": runs,
        }

    report: dict[str, Any] = {
        "site": site.name,
        "command": " ".join(["python", "bench/realsites_bench.py", *sys.argv[1:]]),
        "machine": machine(hugo_cmd[0]),
        "runs": args.runs,
        "limit": args.mismatches,
        "comparison": compare(hugo_rows, dm_rows, args.mismatches),
        "timings": {
            "hugo": timing(hugo_cmd, times["hugo"], hugo_time),
            "digestmail": timing(dm_cmd, times["digestmail"], dm_time),
        },
        "stderr": {
            "hugo": hugo_done.stderr.splitlines()[:10],
            "digestmail": dm_done.stderr.splitlines()[:10],
        },
    }
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
