"""Read a large content folder on every core: forked children, one share of the files each.

Hugo reads a site on all cores; one Python process reads about 6,000 posts a second, so on a
site of a few thousand pages ``digestmail posts`` lost to ``hugo list`` by the reading alone.
A forked child starts in a millisecond with every module and the config already loaded (spawn
would import everything again) and sends its posts back pickled through a pipe.

Forking is done only where it is safe and pays: the platform forks, the process runs a single
thread (forking beside other threads can deadlock on a lock one of them held: ``serve`` and
the preview read posts from a threaded server and so read them in the process), and there are
at least :data:`MIN_FILES_PER_CHILD` files per child. A child that fails in any way (killed,
out of memory, a pickling error) costs time only: the parent reads that share itself, so no
post is ever lost or read twice into the result.
"""

from __future__ import annotations

import dataclasses
import operator
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from digestmail.errors import ContentError
from digestmail.models import Post

MIN_FILES_PER_CHILD = 400
"""Below this a share is read faster in the process than a fork and a pickle take."""

MAX_JOBS = 4
"""Reading is cheap; past a few cores the parent's unpickling and sorting dominate."""

ReadOne = Callable[[Path], Post]
Share = tuple[list[Post], list[ContentError]]
# A ContentError crosses the pipe as its parts: its keyword-only constructor does not pickle.
_ErrorParts = tuple[str, Path, int | None]
# A Post crosses it as a tuple of its fields, the path as text: pickling the dataclass and its
# Path took 22 ms for 750 posts, the tuples 9 ms with the rebuilding.
_FIELDS = tuple(f.name for f in dataclasses.fields(Post))
_values = operator.attrgetter(*_FIELDS)
assert _FIELDS[0] == "path"


def _pack(post: Post) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _values(post)
    return (str(values[0]), *values[1:])


def _unpack(values: tuple[Any, ...]) -> Post:
    return Post(Path(values[0]), *values[1:])


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - platforms without affinity


def plan_jobs(files: int) -> int:
    """How many processes should read ``files`` files: 1 unless forking is safe and pays."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    return max(1, min(_cores(), MAX_JOBS, files // MIN_FILES_PER_CHILD))


def read_share(paths: Sequence[Path], read_one: ReadOne) -> Share:
    """Every post of ``paths`` that could be read, and one error for each that could not."""
    posts: list[Post] = []
    errors: list[ContentError] = []
    for path in paths:
        try:
            posts.append(read_one(path))
        except ContentError as exc:
            errors.append(exc)
    return posts, errors


def read_all(paths: Sequence[Path], read_one: ReadOne, *, jobs: int) -> Share:
    """:func:`read_share` of all ``paths``, split over ``jobs`` processes (this one included).

    Shares are interleaved (every ``jobs``-th file) so that a folder of long posts does not all
    land in one share. The caller sorts the result; its order is not the walk's.
    """
    if jobs <= 1 or len(paths) < 2:
        return read_share(paths, read_one)
    shares = [list(paths[i::jobs]) for i in range(jobs)]
    children = [_fork(share, read_one) for share in shares[1:]]
    posts, errors = read_share(shares[0], read_one)
    for child, share in zip(children, shares[1:], strict=True):
        got = _collect(child) if child is not None else None
        more_posts, more_errors = got if got is not None else read_share(share, read_one)
        posts += more_posts
        errors += more_errors
    return posts, errors


def _fork(share: list[Path], read_one: ReadOne) -> tuple[int, int] | None:
    """A child reading ``share`` into a pipe: (pid, read end); None when fork fails."""
    import pickle  # here: a process that never forks never needs it

    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: never return into the caller's code, whatever happens
        status = 1
        try:
            os.close(read_end)
            posts, errors = read_share(share, read_one)
            parts: list[_ErrorParts] = [(e.message, e.path, e.line) for e in errors]
            packed = [_pack(post) for post in posts]
            payload = pickle.dumps((packed, parts), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(child: tuple[int, int]) -> Share | None:
    """The child's posts and errors; None when it did not finish cleanly."""
    pid, read_end = child
    chunks: list[bytes] = []
    try:
        while chunk := os.read(read_end, 1 << 20):
            chunks.append(chunk)
    except OSError:
        chunks = []
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    import pickle

    try:
        packed, parts = pickle.loads(b"".join(chunks))  # our own child's bytes, never outside data
        posts = [_unpack(values) for values in packed]
    except Exception:  # a torn payload is a failed child; the parent reads its share instead
        return None
    return posts, [ContentError(message, path=path, line=line) for message, path, line in parts]
