"""README's "Point the suite at your own endpoint" example, run as written: the reference served with
`python -m reference serve --port 8800 --test-support` (no --callback-allow, so it refuses the
harness's loopback callback URL), then `pytest features --target http://127.0.0.1:8800 --profile
profiles/reference.toml`. It must end with 0 errors: a refused callback registration is the same in
every scenario - outcomes are polled, and the R4.4 registration scenarios are not applicable, saying
why (SPEC §5) - never a set-up error. The commands are read from README.md; only the port is
changed to a free one (8800 may be taken on a shared machine)."""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 600           # a hang guard, not a timing assertion

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (ROOT.parent / "shared" / "duis" / "schema").is_dir(),
                                                   reason="../shared/duis/schema (DUIS Schema V5.4) is absent")]


def readme_commands() -> tuple[list[str], list[str]]:
    """The serve and pytest commands of README's own-endpoint example, as written there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Point the suite at your own endpoint", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip()]
    serve = next(line for line in lines if line.startswith("python -m reference serve"))
    run = next(line for line in lines if line.startswith("pytest features --target http://127.0.0.1:8800"))
    serve = re.sub(r"\s*\[[^\]]*\]", "", serve)        # the optional [--s1sp-not-implemented ...] [--switch off]
    return shlex.split(serve), shlex.split(run)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_commands_are_the_ones_this_test_runs():
    serve, run = readme_commands()
    assert serve == ["python", "-m", "reference", "serve", "--port", "8800", "--test-support"]
    assert run == ["pytest", "features", "--target", "http://127.0.0.1:8800", "--profile", "profiles/reference.toml"]


def test_the_own_endpoint_example_runs_with_no_error_and_the_refused_callback_is_not_applicable(tmp_path):
    serve, run = readme_commands()
    port = str(free_port())
    serve = [sys.executable, *serve[1:]]
    serve[serve.index("--port") + 1] = port
    run = [sys.executable, "-m", *[a.replace("8800", port) for a in run],
           f"--junitxml={tmp_path / 'junit.xml'}", "-p", "no:cacheprovider", "-q"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(serve, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while "mp107-reference: serving" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        proc = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              stdin=subprocess.DEVNULL, env=dict(os.environ))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = list(suite.iter("testcase"))
    errors = [c.get("name") for c in cases if c.find("error") is not None]
    failures = [c.get("name") for c in cases if c.find("failure") is not None]
    assert not errors and not failures, tail
    skipped = {c.get("name"): c.find("skipped").get("message", "") for c in cases if c.find("skipped") is not None}
    registration = {name: why for name, why in skipped.items() if "callback" in name}
    assert len(registration) == 4, skipped            # the four R4.4 registration scenarios, alike
    for why in registration.values():
        assert "not applicable" in why and "refused callback registration" in why and "polled" in why, why
    assert all("not applicable" in why for why in skipped.values()), skipped   # nothing merely skipped
