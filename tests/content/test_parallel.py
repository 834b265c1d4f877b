"""Reading a site in forked children gives exactly what one process reads, whatever happens."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from digestmail.content import parallel
from digestmail.content.reader import load_posts, read_post
from digestmail.models import Post
from tests.helpers.content import site_config, write

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _site(tmp_path: Path, count: int = 40) -> Path:
    content = tmp_path / "content"
    for n in range(count):
        body = f"# Überschrift {n}\n\nText {n} mit Umlauten: äöü.\n"
        write(
            content,
            f"blog/2017-11-{n % 28 + 1:02d}_tipp-{n}.md",
            f'---\ntitle: "Mein Veranstaltungstipp"\ndate: "2017-11-{n % 28 + 1:02d}T10:00:00"\n'
            f'categories: "veranstaltungstipp"\ntags: [""]\nparams:\n  ort: Berlin {n}\n'
            f"---\n{body}",
        )
    write(content, "blog/broken.md", "---\ntitle: [unclosed\ndate: 2017-11-01\n---\nText.\n")
    write(content, "news/2017-11-03-nachricht.md", "+++\ntitle = 'Nachricht'\n+++\nKurz.\n")
    return content


def test_two_processes_read_the_same_posts_and_errors_as_one(tmp_path: Path) -> None:
    site = site_config(_site(tmp_path))
    alone = load_posts(site, jobs=1)
    shared = load_posts(site, jobs=2)
    three = load_posts(site, jobs=3)
    assert len(alone.posts) == 41
    assert shared.posts == alone.posts == three.posts
    # Placeholder titles are found across the shares: each tip is titled by its heading.
    assert {p.shown().title for p in shared.posts if p.section == "blog"} == {
        f"Überschrift {n}" for n in range(40)
    }
    assert [str(e) for e in shared.errors] == [str(e) for e in alone.errors]
    assert len(shared.errors) == 1
    assert shared.errors[0].path.name == "broken.md" and shared.errors[0].line == 2


def test_a_child_that_dies_costs_time_not_posts(tmp_path: Path) -> None:
    site = site_config(_site(tmp_path, count=12))
    paths = sorted((site.content_dir / "blog").glob("2017-*.md"))
    parent = os.getpid()

    def read_or_die(path: Path) -> Post:
        if os.getpid() != parent:
            os._exit(3)  # a child killed half-way: the parent must read its share itself
        return read_post(path, site=site)

    posts, errors = parallel.read_all(paths, read_or_die, jobs=3)
    assert sorted(p.rel_path for p in posts) == sorted(
        p.relative_to(site.content_dir).as_posix() for p in paths
    )
    assert errors == []


def test_a_child_that_dies_half_way_keeps_what_it_sent_and_nothing_twice(tmp_path: Path) -> None:
    site = site_config(_site(tmp_path, count=120))
    paths = sorted((site.content_dir / "blog").glob("2017-*.md"))
    parent = os.getpid()
    read_in_child = 0

    def read_then_die(path: Path) -> Post:
        nonlocal read_in_child  # each child counts its own reads in its own copy
        if os.getpid() != parent:
            read_in_child += 1
            if read_in_child > 10:  # some chunks sent whole, one cut off in the middle
                os._exit(3)
        return read_post(path, site=site)

    posts, errors = parallel.read_all(paths, read_then_die, jobs=2)
    names = [p.rel_path for p in posts]
    assert len(names) == len(set(names)) == len(paths)
    assert sorted(names) == sorted(p.relative_to(site.content_dir).as_posix() for p in paths)
    assert errors == []


def test_chunks_cover_every_file_once_in_order() -> None:
    for files, jobs in [(2, 2), (41, 2), (1500, 2), (10_000, 4), (1_000_000, 2)]:
        bounds = parallel.chunk_bounds(files, jobs)
        assert bounds[0][0] == 0 and bounds[-1][1] == files
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        assert len(bounds) <= parallel.MAX_CHUNKS
        assert max(stop - start for start, stop in bounds) <= max(
            parallel.MAX_CHUNK, -(-files // parallel.MAX_CHUNKS)
        )


def test_the_claim_pipe_hands_out_each_chunk_once_or_is_not_made() -> None:
    claims = parallel._claim_pipe(10)
    assert claims is not None
    try:
        taken = list(iter(lambda: parallel._claim(claims), None))
    finally:
        os.close(claims)
    assert taken == list(range(10))
    # More numbers than a pipe holds (64 KiB here) are never half written, nor waited on:
    # the site is then read in one process.
    assert parallel._claim_pipe(40_000) is None


def test_forking_only_when_it_is_safe_and_pays() -> None:
    assert parallel.plan_jobs(10) == 1  # too few files to pay for a fork
    many = parallel.MIN_FILES_PER_CHILD * 8
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert parallel.plan_jobs(many) == 1  # another thread runs: never fork beside it
    finally:
        release.set()
        worker.join()
    cores = len(os.sched_getaffinity(0))
    alone = threading.active_count() == 1  # a thread left by an earlier test also forbids it
    assert parallel.plan_jobs(many) == (min(cores, parallel.MAX_JOBS) if alone else 1)
