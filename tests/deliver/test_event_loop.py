"""The send's event loop: uvloop by default, asyncio's on request or without uvloop."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from digestmail.deliver import event_loop


async def running_loop() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_a_send_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV, raising=False)
    assert event_loop.run(running_loop()) is uvloop.Loop


def test_the_variable_picks_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV, " Asyncio ")
    assert not issubclass(event_loop.run(running_loop()), uvloop.Loop)


def test_without_uvloop_asyncios_loop_does_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV, raising=False)
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what `import uvloop` meets when missing
    assert not issubclass(event_loop.run(running_loop()), uvloop.Loop)
