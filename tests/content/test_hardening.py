"""Issue 14: content that cannot be read, or would cost too much to read, is an error naming it.

Two classes of problem, each tested through more than one example:

- whatever under the content dir cannot be read (a folder or file without permission, an I/O
  error, a vanished file, a pipe named like a post) is a ContentError with its path, so
  ``posts`` exits 2 and ``run-due`` refuses the issue instead of recording it as empty;
- one post may not exhaust the machine: YAML alias bombs, self-containing aliases, oversize
  front matter, oversize posts and absurdly deep nesting are errors naming file (and line).

Permission tests need a user the kernel checks: root reads a chmod-000 folder anyway, so when
the tests run as root the CLI runs in a subprocess as ``nobody`` (setpriv or runuser), on a
project in a world-readable temp dir (pytest's tmp_path is private to root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import digestmail
from digestmail.config import SiteConfig, load_config
from digestmail.content import fast_yaml
from digestmail.content.frontmatter import (
    MAX_ALIASED_VALUES,
    MAX_FRONT_MATTER_BYTES,
    lower_keys,
)
from digestmail.content.reader import MAX_POST_BYTES, load_posts, read_post
from digestmail.errors import ContentError
from digestmail.ledger.store import Ledger
from tests.helpers.cli import clean_env
from tests.helpers.project import BASE_CONFIG

SRC = Path(digestmail.__file__).resolve().parent.parent  # the package under test, for children

CONFIG = BASE_CONFIG  # the shared project config (tests/helpers/project.py)


def tip(title: str, date: str = "2017-11-10") -> str:
    return f'---\ntitle: "{title}"\ndate: "{date}"\ncategories: veranstaltungstipp\n---\nText.\n'


def write_project(root: Path, posts: dict[str, str]) -> Path:
    """A project (config, subscribers, posts) under ``root``; returns the config path."""
    cfg = root / "config" / "digestmail.toml"
    (root / "config" / "subscribers").mkdir(parents=True)
    cfg.write_text(CONFIG, encoding="utf-8")
    (root / "config" / "subscribers" / "monthly.csv").write_text(
        "email,name\nanna@example.org,Anna\n", encoding="utf-8"
    )
    for rel, text in posts.items():
        target = root / "content" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return cfg


def site(content_dir: Path) -> SiteConfig:
    return SiteConfig(
        title="Testnetz",
        base_url="https://example.org/",
        language="de",
        timezone=ZoneInfo("Europe/Berlin"),
        content_dir=content_dir,
        permalinks={},
        archive_dir=content_dir.parent / "archive",
        archive_url="",
    )


# --- unreadable content, as a user the permission bits apply to ---------------------------


def _unprivileged_prefix() -> list[str]:
    """How to run a command so that file permissions apply; skips when that is impossible."""
    if os.name != "posix":
        pytest.skip("file permissions as tested here are POSIX")
    if os.geteuid() != 0:
        return []
    candidates = []
    if shutil.which("setpriv"):
        candidates.append(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    if shutil.which("runuser"):
        candidates.append(["runuser", "-u", "nobody", "--"])
    for prefix in candidates:
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import digestmail.cli"],
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
        if probe.returncode == 0:
            return prefix
    pytest.skip(
        "running as root, and neither setpriv nor runuser can run this Python as nobody: "
        "root reads unreadable files, so the check would prove nothing"
    )


def _child_env() -> dict[str, str]:
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["HOME"] = "/tmp"
    return env


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A temp dir every user may enter and write (the project's state lives there too)."""
    root = Path(tempfile.mkdtemp(prefix="digestmail-perm-"))
    root.chmod(0o777)
    try:
        yield root
    finally:
        for path in [root, *root.rglob("*")]:  # give back what the test took away
            if not path.is_symlink():
                path.chmod(0o777)
        shutil.rmtree(root)


def open_up(root: Path) -> None:
    """World-readable (and writable, for state/ and outbox/) before one part is closed."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)


def run_unprivileged(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    prefix = _unprivileged_prefix()
    return subprocess.run(
        [*prefix, sys.executable, "-m", "digestmail", "--config", str(cfg), *args],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cfg.parent.parent,
    )


POSTS = {
    "veranstaltungstipp/eins.md": tip("Eins"),
    "veranstaltungstipp/zwei/index.md": tip("Zwei"),
    "veranstaltungstipp/drei/index.md": tip("Drei"),
}


@pytest.mark.parametrize(
    ("closed", "kind"),
    [
        ("veranstaltungstipp/eins.md", "file"),
        ("veranstaltungstipp/zwei", "folder"),  # a page bundle: its index.md is a tip
        ("veranstaltungstipp", "folder"),  # the whole section
    ],
)
def test_posts_names_an_unreadable_file_or_folder_and_exits_2(
    shared_dir: Path, closed: str, kind: str
) -> None:
    cfg = write_project(shared_dir, POSTS)
    open_up(shared_dir)
    path = shared_dir / "content" / closed
    path.chmod(0)
    done = run_unprivileged(cfg, "posts", "--format", "json")
    assert done.returncode == 2, done.stderr
    assert f"error: {path}: cannot read this {kind}: Permission denied" in done.stderr
    listed = {row["path"] for row in json.loads(done.stdout)}
    assert listed == {rel for rel in POSTS if not rel.startswith(closed)}  # the rest is listed


def test_run_due_refuses_an_issue_with_an_unreadable_section_instead_of_skipping_it(
    shared_dir: Path,
) -> None:
    cfg = write_project(shared_dir, POSTS)
    open_up(shared_dir)
    section = shared_dir / "content" / "veranstaltungstipp"
    section.chmod(0)
    done = run_unprivileged(cfg, "run-due", "--now", "2017-12-01T09:00:00")
    assert done.returncode == 2, done.stderr
    assert f"{section}: cannot read this folder" in done.stderr
    assert "skipped" not in done.stdout + done.stderr
    state = load_config(cfg).state.path
    if state.exists():  # nothing recorded: the month is neither skipped nor sent
        with Ledger.open(state) as ledger:
            assert "monthly-2017-11" not in {s.id for s in ledger.issues("monthly")}


def test_a_broken_link_and_a_pipe_named_like_posts_are_errors(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "veranstaltungstipp").mkdir(parents=True)
    (content / "veranstaltungstipp" / "gut.md").write_text(tip("Gut"), encoding="utf-8")
    gone = content / "veranstaltungstipp" / "weg.md"
    gone.symlink_to(tmp_path / "nicht-mehr-da.md")  # as if the file vanished mid-run
    pipe = content / "veranstaltungstipp" / "rohr.md"
    os.mkfifo(pipe)  # opening it for reading would block the run forever
    result = load_posts(site(content))
    assert [p.title for p in result.posts] == ["Gut"]
    messages = {str(e.path): str(e) for e in result.errors}
    assert messages[str(gone)].startswith(
        f"{gone}: cannot read this file: No such file or directory"
    )
    assert messages[str(pipe)].startswith(f"{pipe}: not a regular file")


def test_a_folder_the_disk_cannot_list_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    for rel in POSTS:
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text(tip(rel), encoding="utf-8")
    broken = content / "veranstaltungstipp" / "drei"
    real_scandir = os.scandir

    def failing_scandir(path: str | os.PathLike[str]) -> object:
        if Path(path) == broken:
            raise OSError(5, "Input/output error", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", failing_scandir)
    result = load_posts(site(content))
    assert len(result.posts) == 2
    assert [str(e) for e in result.errors] == [
        f"{broken}: cannot read this folder: Input/output error "
        "(check the disk; its posts would be missing from the digest)"
    ]


# --- what one post may cost ---------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    """The classic: each level an anchored list of nine aliases of the level before."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "---\ntitle: Bombe\n" + "\n".join(lines) + "\n---\nText.\n"


def write(tmp_path: Path, text: str, rel: str = "posts/p.md") -> Path:
    path = tmp_path / "content" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_error(tmp_path: Path, text: str) -> tuple[Path, ContentError]:
    path = write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        read_post(path, site=site(tmp_path / "content"))
    return path, caught.value


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_limit(tmp_path: Path) -> None:
    path, error = read_error(tmp_path, billion_laughs())
    # a: 10 values; each *a repeats 10 (90 on b's line, 3), each *b 91 (819 on c's line, 4),
    # and the first *c (820) on d's line, 6, passes 1,000.
    assert str(error) == (
        f"{path}:6: YAML front matter: alias *c brings the values that aliases repeat to "
        f"1,729, more than the {MAX_ALIASED_VALUES:,} allowed; write the values out instead "
        "of repeating them with & and *"
    )


def test_an_alias_bomb_in_a_nested_mapping_and_via_merge_keys_is_refused(tmp_path: Path) -> None:
    block = ["---", "x: &x {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8}"]
    for level in range(1, 8):
        block.append(f"l{level}: &l{level}")
        for i in range(8):
            block.append(f"  k{i}: *{'x' if level == 1 else f'l{level - 1}'}")
    block.append("params:\n  <<: *l7")
    path, error = read_error(tmp_path, "\n".join(block) + "\n---\n")
    assert error.path == path
    assert error.line is not None and 2 < error.line < len(block)
    assert "aliases repeat" in error.message


@pytest.mark.parametrize(
    ("front", "line"),
    [("x: &a [*a]", 2), ("title: t\nx: &a\n  y: [1, *a]", 4)],
)
def test_an_alias_inside_the_value_it_repeats_is_refused(
    tmp_path: Path, front: str, line: int
) -> None:
    path, error = read_error(tmp_path, f"---\n{front}\n---\n")
    assert str(error) == (
        f"{path}:{line}: YAML front matter: alias *a is inside the value &a it repeats, "
        "so that value never ends; write the value out"
    )


def test_a_few_small_aliases_still_work_as_in_hugo(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        ---
        title: Mit Vorlage
        date: 2017-11-10
        vorlage: &vorlage
          Ort: Rathaus
          Raum: "2.17"
        termin:
          <<: *vorlage
          Zeit: "18:00"
        kopie: *vorlage
        ---
        Text.
        """
    )
    post = read_post(write(tmp_path, text), site=site(tmp_path / "content"))
    assert post.params["termin"] == {"ort": "Rathaus", "raum": "2.17", "zeit": "18:00"}
    assert post.params["kopie"] is post.params["vorlage"]  # shared, not copied


def test_lower_keys_shares_what_the_input_shares() -> None:
    inner = {"Key": [1, 2]}
    outer = [inner] * 1000  # what 1,000 aliases of one anchor look like once loaded
    lowered = lower_keys({"A": outer, "B": outer})
    assert lowered["a"] is lowered["b"]
    assert all(item is lowered["a"][0] for item in lowered["a"])
    assert lowered["a"][0] == {"key": [1, 2]}


@pytest.mark.parametrize(
    "block",
    ["a: &x 1\n", "a: *x\n", "a: [&x 1, *x]\n", "a:\n  b: &x c\n", "<<: *x\n", "a: &x\n  b: 1\n"],
)
def test_the_fast_yaml_path_declines_anchors_and_aliases(block: str) -> None:
    assert fast_yaml.load(block) is None


@pytest.mark.parametrize(
    ("opening", "closing", "name"),
    [("---\nx: ", "\n---\n", "YAML"), ("+++\nx = ", "\n+++\n", "TOML")],
)
def test_an_oversize_front_matter_is_refused_with_its_size(
    tmp_path: Path, opening: str, closing: str, name: str
) -> None:
    value = '"' + "ü" * (MAX_FRONT_MATTER_BYTES // 2) + '"'  # two bytes a character
    path, error = read_error(tmp_path, opening + value + closing + "Text.\n")
    size = len((opening + value).encode()) - 4  # without the opening delimiter line
    assert str(error) == (
        f"{path}:1: {name} front matter is {size + 1:,} bytes, more than the 65,536 (64 KiB) "
        "allowed; keep metadata short and put long text in the body"
    )


def test_an_oversize_json_front_matter_is_refused(tmp_path: Path) -> None:
    path, error = read_error(tmp_path, '{"x": "' + "a" * MAX_FRONT_MATTER_BYTES + '"}\nText.\n')
    assert error.path == path and error.line == 1
    assert "JSON front matter is 65,545 bytes, more than the 65,536 (64 KiB)" in error.message


def test_an_oversize_post_is_refused_with_its_size_before_it_is_read(tmp_path: Path) -> None:
    body = ("Wort " * (MAX_POST_BYTES // 5 + 1)) + "\n"
    path, error = read_error(tmp_path, tip("Riesig") + body)
    size = path.stat().st_size
    assert size > MAX_POST_BYTES
    assert str(error) == (
        f"{path}: the file is {size:,} bytes; a post may have at most 1,048,576 bytes "
        "(1024 KiB): move large data out of the content folder"
    )


def test_a_post_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    head = tip("Gerade noch")
    path = write(tmp_path, head + "x" * (MAX_POST_BYTES - len(head.encode())))
    assert path.stat().st_size == MAX_POST_BYTES
    assert read_post(path, site=site(tmp_path / "content")).title == "Gerade noch"


@pytest.mark.parametrize(
    ("text", "name", "line"),
    [
        ("---\nx: " + "[" * 990 + "]" * 990 + "\n---\n", "YAML", 2),
        ("+++\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\n", "TOML", 2),
        ('{"x": ' + "[" * 5000 + "]" * 5000 + "}\n", "JSON", 1),
    ],
)
def test_nesting_too_deep_to_read_is_an_error_not_a_crash(
    tmp_path: Path, text: str, name: str, line: int
) -> None:
    path, error = read_error(tmp_path, text)
    assert str(error).startswith(f"{path}:{line}: {name} front matter is nested too deeply")


def test_posts_reports_an_alias_bomb_with_file_and_line_and_lists_the_rest(
    tmp_path: Path,
) -> None:
    cfg = write_project(
        tmp_path,
        {"veranstaltungstipp/gut.md": tip("Gut"), "veranstaltungstipp/bombe.md": billion_laughs()},
    )
    done = subprocess.run(
        [sys.executable, "-m", "digestmail", "--config", str(cfg), "posts", "--format", "json"],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    bomb = tmp_path / "content" / "veranstaltungstipp" / "bombe.md"
    assert f"error: {bomb}:6: YAML front matter: alias *c" in done.stderr
    assert [row["title"] for row in json.loads(done.stdout)] == ["Gut"]
