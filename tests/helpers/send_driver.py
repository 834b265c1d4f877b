"""Run one send in a process of its own, ``python -m tests.helpers.send_driver``.

Used by the tests that kill a sender with SIGKILL or run two senders at once, so they exercise
a real second process (its own PID, its own SQLite connection) rather than a second coroutine.
Prints the report as JSON on stdout and exits with the report's exit code (75 on a held lock).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from digestmail.cli.signals import install_signal_handlers
from digestmail.config import load_config
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import make_transport, send_issue
from digestmail.errors import DigestmailError
from digestmail.ledger.store import Ledger
from digestmail.subscribers.reader import read_subscribers
from tests.helpers.mail import TinyFactory, make_issue


async def main(config_path: Path) -> int:
    config = load_config(config_path)
    list_cfg = config.get_list("monthly")
    stop = asyncio.Event()
    install_signal_handlers(stop)
    with Ledger.open(config.state.path) as ledger:
        report = await send_issue(
            SendJob(config, list_cfg, make_issue(), ledger, stop=stop),
            transport=make_transport(config),
            make_factory=TinyFactory,
            recipients=read_subscribers(list_cfg.subscribers),
        )
    print(json.dumps(report.as_dict()), flush=True)
    return report.exit_code


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(Path(sys.argv[1]))))
    except DigestmailError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
