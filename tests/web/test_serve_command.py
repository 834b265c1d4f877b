"""``digestmail serve`` as a user starts it: its own process, uvicorn, the health check."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.helpers.cli import Cli
from tests.helpers.web import SECRET, bind_local, web_section


def test_serve_answers_healthz_and_needs_the_secret(sample_project: Path, cli: Cli) -> None:
    sock = bind_local()
    port = sock.getsockname()[1]
    sock.close()  # the command binds it itself
    config = sample_project / "config" / "digestmail.toml"
    with config.open("a", encoding="utf-8") as out:
        out.write(web_section(port))

    refused = cli.run("serve", cwd=sample_project)
    assert refused.returncode == 2
    assert "DIGESTMAIL_SECRET" in refused.stderr

    server = cli.popen("serve", "--port", str(port), env={"DIGESTMAIL_SECRET": SECRET},
                       cwd=sample_project)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.text == "ok\n"
        assert "server" not in answer.headers
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert "GET /healthz 200" in err
    assert "Application shutdown complete" in err  # graceful: uvicorn then re-raises SIGTERM
    assert server.returncode in (0, -15), err


def test_check_wants_https_and_the_secret(sample_project: Path, cli: Cli) -> None:
    config = sample_project / "config" / "digestmail.toml"
    with config.open("a", encoding="utf-8") as out:
        out.write('\n[web]\nbase_url = "http://www.example.org/newsletter/"\n')
    done = cli.run("check", cwd=sample_project)
    assert done.returncode == 2
    assert "web.base_url: http://www.example.org/newsletter/ is not https" in done.stderr
    text = config.read_text(encoding="utf-8").replace("http://www", "https://www")
    config.write_text(text, encoding="utf-8")
    no_secret = cli.run("check", cwd=sample_project)
    assert no_secret.returncode == 2 and "DIGESTMAIL_SECRET" in no_secret.stderr
    fine = cli.run("check", cwd=sample_project, env={"DIGESTMAIL_SECRET": SECRET})
    assert fine.returncode == 0, fine.stderr
