"""The harness's callback receiver: where a target POSTs final outcomes (SPEC §5).

A small threaded HTTP server (stdlib) on a loopback ephemeral port by default. Each POST body
must be a DUIS `Response`; it is kept by its RequestID (read from the Response itself: a response
correlates to its request by RequestID alone) and whoever waits for that RequestID is woken.
Bodies that are not a readable Response are answered 400 and remembered, so that an outcome that
never arrives can say what came instead. Signatures are checked later, by the target adapter.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from duis import codec, errors

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
PATH = "/outcomes"


class CallbackReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, public_url: str | None = None) -> None:
        self._outcomes: dict[str, bytes] = {}
        self._cond = threading.Condition()
        self.refused: deque[str] = deque(maxlen=20)
        self.received = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver._handle(self)

            def log_message(self, fmt, *args) -> None:   # quiet: the harness's output is the verdicts
                log.debug("callback receiver: " + fmt, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.url = public_url or f"http://{shown}:{bound_port}{PATH}"
        self._path = PATH if public_url is None else (_path_of(public_url) or PATH)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="callback-receiver", daemon=True)
        self._thread.start()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.split("?")[0] != self._path:
            self._answer(handler, 404, f"POST final outcomes to {self._path}")
            return
        try:
            length = int(handler.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(handler, 411, "expected a Content-Length")
            return
        if length > MAX_BODY:
            self._answer(handler, 413, f"expected at most {MAX_BODY} bytes")
            return
        body = handler.rfile.read(length)
        try:
            request_id = codec.decode_response(body).request_id
            if request_id is None:
                raise errors.DuisValueError("the Response carries no RequestID")
        except errors.DuisError as exc:
            problem = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            self.refused.append(problem)
            log.warning("callback receiver refused a body from %s: %s", handler.client_address[0], problem)
            self._answer(handler, 400, f"expected a DUIS Response, got {problem}")
            return
        with self._cond:
            self._outcomes[str(request_id)] = body
            self.received += 1
            self._cond.notify_all()
        self._answer(handler, 204, None)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, text: str | None) -> None:
        data = (text or "").encode("utf-8")
        handler.send_response(status)
        if data:
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if data:
            handler.wfile.write(data)

    def wait(self, request_id: str, timeout: float) -> bytes | None:
        """The outcome for `request_id` (taken: each is handed out once), waiting at most `timeout` s."""
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._outcomes, timeout=max(0.0, timeout))
            return self._outcomes.pop(request_id, None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _path_of(url: str) -> str | None:
    from urllib.parse import urlsplit
    return urlsplit(url).path or None
