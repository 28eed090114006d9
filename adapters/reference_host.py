"""The reference DCC hosted for a run: `InProcessReference` (`--target local`) serves the same app
`python -m reference serve` runs on a free loopback port in a thread of this process;
`ServedReference` (`--target serve`) runs `python -m reference serve --port 0` as a subprocess.
Either way the harness drives it with `HttpTarget`, like any other target.

There is one path from a step to an implementation: the suite always talks HTTP to Target
Interface v1.1 (adapters/http.py). In-process only means the server runs in a thread of the
harness's process rather than in a subprocess (`ServedReference`), so it starts in a few
milliseconds, shares the harness's compiled schema, and a test can look inside the DCC (`.dcc`)
to check what the wire does not show.

    with InProcessReference("--defect", "replay-accepted") as base_url:
        target = HttpTarget(base_url, profile)

    reference = InProcessReference(); target = reference.target()   # the same, closed with reference.close()

The arguments are `python -m reference serve`'s own (`python -m reference serve --help`); a bad one
raises ValueError with the reason. This is the only adapter module that imports the reference
(.importlinter).
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from reference.server import cli as serve_cli

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0


class InProcessReference:
    """`python -m reference serve --port 0 --host 127.0.0.1 ARGS`, in a thread of this process."""

    def __init__(self, *args: str, test_support: bool = True, callback_allow: tuple[str, ...] = ("127.0.0.1",),
                 log_level: str = "warning") -> None:
        allow = [arg for host in callback_allow for arg in ("--callback-allow", host)]
        self.args = ["--port", "0", "--host", "127.0.0.1", "--log-level", log_level,
                     *(["--test-support"] if test_support else []), *args, *allow]
        self.base_url: str | None = None
        self.dcc = None
        self._context = None
        self._served = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._targets: list = []

    def start(self) -> str:
        options = serve_cli.parse(self.args)
        self._context = serve_cli.serving(options, announce=False)
        try:
            self._served = self._context.__enter__()
        except serve_cli.StartError as exc:
            self._context = None
            raise ValueError(f"{serve_cli.PROG}: {exc}") from None
        self.dcc = self._served.dcc
        server = self._served.server
        self._thread = threading.Thread(target=self._run, name="mp107-reference-in-process", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the in-process reference did not start within {STARTUP_SECONDS:g} s"
                                   + (f": {self._failure}" if self._failure else ""))
            time.sleep(0.002)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"{'https' if server.config.is_ssl else 'http'}://{host}:{port}"
        return self.base_url

    def _run(self) -> None:
        try:
            self._served.server.run()
        except BaseException as exc:        # surfaced by start(); the thread must not die silently
            self._failure = exc

    def target(self, profile=None, **kwargs):
        """An HttpTarget on this reference (started if it is not yet), closed with it; `profile`
        defaults to adapters.profile.default_profile()."""
        from .http import HttpTarget
        from .profile import default_profile
        if self.base_url is None:
            self.start()
        target = HttpTarget(self.base_url, profile or default_profile(), **kwargs)
        self._targets.append(target)
        return target

    def close(self) -> None:
        for target in self._targets:
            target.close()
        self._targets.clear()
        if self._served is not None and self._thread is not None:
            self._served.server.should_exit = True
            self._thread.join(timeout=10)
        if self._context is not None:
            self._context.__exit__(None, None, None)
        self._context = self._served = self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


# --- the reference as a subprocess ---------------------------------------------------------------

READY_PREFIX = serve_cli.READY_PREFIX           # what `python -m reference serve` prints once it serves


class ServedReference:
    """`python -m reference serve --port 0` (a free loopback port) as a subprocess, for one run.

        with ServedReference("--s1sp-not-implemented", "S1SP2") as base_url: ...

    With "--tls-certificate", "--tls-key" (and "--tls-client-ca") among the arguments it serves HTTPS and
    `base_url` is the https:// URL of its READY line (profile [tls].serve_arguments() gives them).
    Its output goes to `log_path` (a temporary file unless given), never to a pipe nobody reads."""

    def __init__(self, *args: str, test_support: bool = True, log_path: Path | None = None,
                 startup_timeout: float = 60.0, callback_allow: tuple[str, ...] = ("127.0.0.1",)) -> None:
        """`callback_allow`: loopback hosts the served DCC may POST outcomes to (Target Interface
        v1.1 refuses loopback callback URLs otherwise): the harness's receiver listens on 127.0.0.1."""
        allow = [arg for host in callback_allow for arg in ("--callback-allow", host)]
        self.args = [*(["--test-support"] if test_support else []), *args, *allow]
        self.startup_timeout = startup_timeout
        self._own_log = log_path is None
        self.log_path = Path(log_path or tempfile.mkstemp(prefix="mp107-served-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None
        self.base_url: str | None = None

    def start(self) -> str:
        cmd = [sys.executable, "-m", "reference", "serve", "--port", "0", "--host", "127.0.0.1", *self.args]
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if line.startswith(READY_PREFIX):
                    self.base_url = line[len(READY_PREFIX):].split()[0]
                    return self.base_url
            if self.process.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd)} exited with {self.process.returncode} before serving:\n{text[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{' '.join(cmd)} did not report serving within {self.startup_timeout:g} s; see {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def close(self) -> None:
        """Stop it; remove its log (a temporary file) unless it died on its own, which the log explains."""
        crashed = self.process is not None and self.process.poll() is not None
        self.stop()
        if self._own_log and not crashed:
            self.log_path.unlink(missing_ok=True)
        elif crashed:
            log.warning("the served reference exited with %s; its log: %s", self.process.returncode, self.log_path)

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, no graceful shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
