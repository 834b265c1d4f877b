"""Read a large content folder on every core: forked children take chunks of files as they go.

Hugo reads a site on all cores; one Python process reads about 10,000 posts a second, so on a
site of a few thousand pages ``digestmail posts`` lost to ``hugo list`` by the reading alone.
A forked child starts in a millisecond with every module and the config already loaded (spawn
would import everything again) and sends its posts back pickled through a pipe.

The files are cut into small chunks that the processes claim one at a time from a shared pipe
of chunk numbers (a two-byte read from a pipe is atomic), the parent included: whoever is
faster reads more, so a child slowed by other work on the machine, or a folder of long posts,
never leaves the others waiting. A child sends each chunk as soon as it is read, and the parent
takes what has arrived in between its own chunks, so the unpickling, which only the parent can
do, overlaps the children's reading instead of following it.

Forking is done only where it is safe and pays: the platform forks, the process runs a single
thread (forking beside other threads can deadlock on a lock one of them held: ``serve`` and
the preview read posts from a threaded server and so read them in the process), and there are
at least :data:`MIN_FILES_PER_CHILD` files per child. A child that fails in any way (killed,
out of memory, a pickling error) costs time only: the parent reads every chunk that child
claimed and did not deliver whole, so no post is ever lost or read twice into the result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import operator
import os
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from digestmail.errors import ContentError
from digestmail.models import Post

MIN_FILES_PER_CHILD = 400
"""Below this a share is read faster in the process than a fork and a pickle take."""

MAX_JOBS = 4
"""Reading is cheap; past a few cores the parent's unpickling and sorting dominate."""

CHUNKS_PER_JOB = 16
"""Chunks each process gets on average: enough that the last one to finish ends soon after the
others, few enough that the per-chunk costs (a claim, a frame, a pickle) stay small."""

MAX_CHUNK = 64
"""Files in a chunk at most, so that a chunk's frame (posts with their bodies, some hundred KB)
fits into the result pipe while the parent is busy with a chunk of its own."""

MAX_CHUNKS = 4096
"""The chunk numbers must all fit into the claim pipe before the children start (8 KiB)."""

_PIPE_SIZE = 1 << 20
"""The result pipe's buffer (Linux's default ceiling for unprivileged processes): a child
writes a few chunks ahead of the parent instead of waiting after each one."""

ReadOne = Callable[[Path], Post]
Share = tuple[list[Post], list[ContentError]]
# A ContentError crosses the pipe as its parts: its keyword-only constructor does not pickle.
_ErrorParts = tuple[str, Path, int | None]
# A Post crosses it as a tuple of its fields, the path as its index in the list the parent
# holds (both processes have it): pickling the dataclass and its Path took 22 ms for 750
# posts, and building a Path from text again is most of what is left.
_FIELDS = tuple(f.name for f in dataclasses.fields(Post))
_values = operator.attrgetter(*_FIELDS)
assert _FIELDS[0] == "path"
_CLAIM = struct.Struct("<H")
_FRAME = struct.Struct("<HI")  # chunk number, length of the pickle that follows


def _pack(post: Post, index: int, path: Path) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _values(post)
    # A reader that returned a post of another path than the one it was given keeps it.
    return (index if values[0] is path else str(values[0]), *values[1:])


def _unpack(values: tuple[Any, ...], paths: Sequence[Path]) -> Post:
    where = values[0]
    return Post(Path(where) if isinstance(where, str) else paths[where], *values[1:])


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


def chunk_bounds(files: int, jobs: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each chunk: about :data:`CHUNKS_PER_JOB` per process, in order."""
    size = max(1, min(MAX_CHUNK, -(-files // (jobs * CHUNKS_PER_JOB))), -(-files // MAX_CHUNKS))
    return [(start, min(start + size, files)) for start in range(0, files, size)]


def read_all(paths: Sequence[Path], read_one: ReadOne, *, jobs: int) -> Share:
    """:func:`read_share` of all ``paths``, read by ``jobs`` processes (this one included).

    The caller sorts the result; its order is not the walk's.
    """
    if jobs <= 1 or len(paths) < 2:
        return read_share(paths, read_one)
    bounds = chunk_bounds(len(paths), jobs)
    claims = _claim_pipe(len(bounds))
    if claims is None:
        return read_share(paths, read_one)
    children = [_fork(paths, bounds, claims, read_one) for _ in range(jobs - 1)]
    posts: list[Post] = []
    errors: list[ContentError] = []
    mine: set[int] = set()
    running = [child for child in children if child is not None]
    try:
        while (chunk := _claim(claims)) is not None:
            start, stop = bounds[chunk]
            more_posts, more_errors = read_share(paths[start:stop], read_one)
            posts += more_posts
            errors += more_errors
            mine.add(chunk)
            for child in running:
                child.take(paths, block=False)
        for child in running:
            child.take(paths, block=True)
    finally:
        os.close(claims)
        for child in running:
            child.close()
    delivered: set[int] = set()
    for child in running:
        for chunk, (more_posts, more_errors) in child.chunks.items():
            delivered.add(chunk)
            posts += more_posts
            errors += more_errors
    for chunk in range(len(bounds)):  # claimed by a child that failed before sending it
        if chunk not in mine and chunk not in delivered:
            start, stop = bounds[chunk]
            more_posts, more_errors = read_share(paths[start:stop], read_one)
            posts += more_posts
            errors += more_errors
    return posts, errors


def _claim_pipe(chunks: int) -> int | None:
    """The read end of a pipe holding every chunk number; it reads as empty once all are
    claimed, because no write end is left open. None when the pipe cannot take them all at
    once (a system out of pipe memory gives one page): the caller then reads alone."""
    read_end, write_end = os.pipe()
    payload = b"".join(_CLAIM.pack(chunk) for chunk in range(chunks))
    try:
        os.set_blocking(write_end, False)  # nobody reads yet: a full pipe must not block
        written = os.write(write_end, payload)
    except OSError:
        written = -1
    finally:
        os.close(write_end)
    if written != len(payload):
        os.close(read_end)
        return None
    return read_end


def _claim(claims: int) -> int | None:
    """The next chunk nobody has taken, or None when none is left."""
    data = os.read(claims, _CLAIM.size)  # all writes were whole and done before: never torn
    return _CLAIM.unpack(data)[0] if data else None


class _Child:
    """A forked reader as the parent sees it: its pid, its result pipe, the chunks it sent."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self.chunks: dict[int, Share] = {}
        self._buffer = bytearray()
        self._broken = False
        self._reaped = False
        os.set_blocking(fd, False)

    def take(self, paths: Sequence[Path], *, block: bool) -> None:
        """Unpickle the chunks that have arrived; with ``block``, all of them until the child
        ends, and then reap it."""
        if block:
            os.set_blocking(self.fd, True)
        while not self._broken:
            try:
                data = os.read(self.fd, _PIPE_SIZE)
            except BlockingIOError:
                break
            except OSError:
                self._broken = True
                break
            if not data:
                break
            self._buffer += data
            self._frames(paths)
        if block:
            self._reap()

    def _frames(self, paths: Sequence[Path]) -> None:
        import pickle

        buffer, pos = self._buffer, 0
        while len(buffer) - pos >= _FRAME.size:
            chunk, size = _FRAME.unpack_from(buffer, pos)
            end = pos + _FRAME.size + size
            if len(buffer) < end:
                break
            try:  # our own child's bytes, never outside data
                packed, parts = pickle.loads(buffer[pos + _FRAME.size : end])
                posts = [_unpack(values, paths) for values in packed]
                errors = [ContentError(msg, path=path, line=line) for msg, path, line in parts]
            except Exception:  # a garbled frame: this child's other chunks are read again
                self._broken = True
                return
            self.chunks[chunk] = (posts, errors)
            pos = end
        del buffer[:pos]

    def _reap(self) -> None:
        os.close(self.fd)
        self.fd = -1
        if self._broken:
            # Nobody reads its pipe any more, and a sibling forked later may hold the read end,
            # so a child blocked on a full pipe would never see EPIPE: end it.
            import signal

            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            self._broken = True  # what it sent whole is kept; the rest is read again

    def close(self) -> None:
        """Leave no descriptor or zombie behind, also when the parent stops on an error."""
        if self.fd != -1:
            os.close(self.fd)
            self.fd = -1
        if not self._reaped:
            import signal

            try:
                os.kill(self.pid, signal.SIGKILL)  # the parent gave up on what it would send
                os.waitpid(self.pid, 0)
            except OSError:  # pragma: no cover - already gone
                pass
            self._reaped = True


def _fork(
    paths: Sequence[Path], bounds: list[tuple[int, int]], claims: int, read_one: ReadOne
) -> _Child | None:
    """A child reading claimed chunks into a pipe; None when fork fails."""
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
            _grow(write_end)
            for frame in _read_chunks(paths, bounds, claims, read_one, pickle.dumps):
                view = memoryview(frame)
                while view:
                    view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return _Child(pid, read_end)


def _grow(fd: int) -> None:
    """Ask for :data:`_PIPE_SIZE` of pipe buffer; without it (not Linux) chunks just wait."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


def _read_chunks(
    paths: Sequence[Path],
    bounds: list[tuple[int, int]],
    claims: int,
    read_one: ReadOne,
    dumps: Callable[..., bytes],
) -> Iterator[bytes]:
    """The frames of the chunks this child claims and reads, one at a time."""
    while (chunk := _claim(claims)) is not None:
        packed: list[tuple[Any, ...]] = []
        parts: list[_ErrorParts] = []
        start, stop = bounds[chunk]
        for index in range(start, stop):
            path = paths[index]
            try:
                packed.append(_pack(read_one(path), index, path))
            except ContentError as exc:
                parts.append((exc.message, exc.path, exc.line))
        payload = dumps((packed, parts), protocol=5)
        yield _FRAME.pack(chunk, len(payload)) + payload
