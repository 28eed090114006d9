"""The served reference under attack, round two (issue 20): what a stranger who can reach its port can
do to it, each pinned by a test that failed before the fix.

- test support without a token (loopback only): no web page can drive it (Origin, Host, content type);
- one request-head size limit, whatever the read chunking; Content-Length with Transfer-Encoding closes;
- request bodies in tiny chunks cannot starve the server; a client that closes mid-body leaves no
  traceback; idle connections cannot exhaust it (a cap, the oldest idle ones go first); a TLS handshake
  that never finishes is dropped at the head deadline; mutual TLS takes end-entity certificates only;
- deeply nested JSON is a clean 400; pending Pre-Commands are kept per user; replay protection
  (OriginatorCounter) survives a restart.

Raw sockets where a well-behaved client cannot misbehave the way these must. Every wait is bounded;
nothing asserts how long anything took.
"""
from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from adapters.reference_host import InProcessReference

WAIT = 10.0


@pytest.fixture(scope="module")
def served():
    """The reference in this process, as `--target serve` starts it: loopback, test support, no token."""
    host = InProcessReference()
    host.start()
    yield host
    host.close()


def host_port(base_url: str) -> tuple[str, int]:
    host, port = base_url.split("//")[1].rsplit(":", 1)
    return host, int(port)


def exchange(base_url: str, data: bytes, *, wait: float = WAIT) -> bytes:
    """Send `data` on a fresh connection, then read until the server closes or `wait` passes."""
    with socket.create_connection(host_port(base_url), timeout=wait) as sock:
        sock.sendall(data)
        return read_all(sock, wait)


def read_all(sock: socket.socket, wait: float = WAIT) -> bytes:
    got = b""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except (TimeoutError, ConnectionError):
        pass
    return got


def switch(base_url: str) -> bool:
    return requests.get(base_url + "/test-support/v1/state", timeout=WAIT).json()["mp107_switch"]


# --- test support without a token: no web page can drive it (ruling) ----------------------------------

@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),                       # a page's cross-site request
    ({"Origin": "null"}, 403),
    ({"Host": "evil.example"}, 403),                                # DNS rebinding: the page's own name
    ({"Host": "localhost"}, 403),                                   # a name, not a loopback literal
    ({"Content-Type": "text/plain"}, 415),                          # what a page may send without asking
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
])
def test_test_support_without_a_token_refuses_what_a_web_page_could_send(served, headers, status):
    before = switch(served.base_url)
    body = json.dumps({"on": not before}).encode()
    answer = requests.put(served.base_url + "/test-support/v1/switch", data=body, timeout=WAIT,
                          headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == status, answer.text
    assert switch(served.base_url) == before                       # nothing changed


def test_test_support_without_a_token_still_serves_the_harness(served):
    before = switch(served.base_url)
    assert requests.put(served.base_url + "/test-support/v1/switch", json={"on": not before},
                        timeout=WAIT).status_code == 200
    assert requests.put(served.base_url + "/test-support/v1/switch", json={"on": before},
                        timeout=WAIT).status_code == 200
    assert switch(served.base_url) == before
