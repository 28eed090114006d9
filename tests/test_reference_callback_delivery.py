"""The reference's callback delivery under attack (issue 20): whatever a user's callback endpoint does,
it costs the DCC a bounded amount, holds up no other user, and loses nothing silently.

- D2: an endpoint that answers without end (or a gzip bomb) is cut off after the status line: its body
  is never read nor decoded;
- D3: an endpoint that answers a byte at a time holds only its own user's deliveries, each attempt cut
  off at the delivery deadline; another user's outcomes still go out;
- D4: a callback URL that leads back to the DCC itself (its own test support, say) is refused, and a
  delivery that reaches the DCC anyway is refused by it and does nothing;
- D16: a callback URL with a control character or white space is refused at registration; a delivery
  that cannot be made at all is counted and logged, never lost silently.

The endpoints are raw sockets; every wait is bounded (a thread join, a polling loop with a deadline);
nothing asserts how long anything took.
"""
from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from adapters.http import callback_path
from adapters.reference_host import InProcessReference
from adapters.world import Cast
from reference.server import callbacks
from reference.server.callbacks import CallbackDelivery
from raw_http import RawHTTPServer

WAIT = 15.0      # the longest any test here waits for something to happen


def eventually(condition, wait: float = WAIT) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Endpoint(RawHTTPServer):
    """A raw-socket callback endpoint: `answer(conn, stop)` writes whatever it likes after the request."""

    def __init__(self, answer) -> None:
        self.respond = answer
        self.requests: list[bytes] = []
        self.sent: list[int] = []           # bytes each answer got out before the DCC closed the connection
        super().__init__(backlog=64)
        self.url += "/outcomes"

    def answer(self, conn, method, path, head, body) -> None:
        self.requests.append(head)
        self.sent.append(self.respond(conn, self.stop))


def endless(conn: socket.socket, stop) -> int:
    """200 OK, gzip, chunked, then chunks of zeros until the DCC closes (at most 64 MiB)."""
    sent = 0
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
        import gzip
        block = gzip.compress(b"\0" * (4 * 1024 * 1024))
        chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        while sent < 64 * 1024 * 1024 and not stop.is_set():
            conn.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    return sent


def dripping(conn: socket.socket, stop) -> int:
    """A status line a byte every 0.2 s, for ever (never a silence long enough for a read timeout)."""
    sent = 0
    for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 100_000:
        if stop.wait(0.2):
            break
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            break
        sent += 1
    return sent


def quick(conn: socket.socket, stop) -> int:
    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    return 0


@pytest.fixture
def made():
    things = []
    yield things.append
    for thing in reversed(things):
        thing.close()


def test_an_endless_answer_is_never_read_nor_decoded(made):
    """D2: one ~1 MB gzip answer took the served reference from 67 MB to 2.1 GB (read whole, un-gzipped)."""
    endpoint = Endpoint(endless)
    made(endpoint)
    delivery = CallbackDelivery(attempts=1)
    made(delivery)
    delivery.deliver(endpoint.url, "RID-1", b"<x/>")
    assert eventually(lambda: delivery.stats["delivered"] == 1 and endpoint.sent), (delivery.stats, endpoint.sent)
    assert endpoint.sent[0] < 16 * 1024 * 1024, f"the DCC read {endpoint.sent[0]} bytes of an answer it needs none of"
    assert b"accept-encoding: identity" in endpoint.requests[0].lower()


def test_a_dripping_endpoint_holds_only_its_own_users_deliveries(made, caplog):
    """D3: one user whose endpoint answered a byte at a time held all four delivery threads."""
    slow, fast = Endpoint(dripping), Endpoint(quick)
    made(slow)
    made(fast)
    delivery = CallbackDelivery(attempts=1, deadline=2.0)
    made(delivery)
    with caplog.at_level(logging.ERROR, logger="reference.server.callbacks"):
        for n in range(12):
            delivery.deliver(slow.url, f"SLOW-{n}", b"<x/>", "90-B3-D5-1F-30-01-00-03")
        delivery.deliver(fast.url, "FAST-1", b"<x/>", "90-B3-D5-1F-30-02-00-04")
        assert eventually(lambda: delivery.stats["delivered"] == 1), delivery.stats    # the other user's, at once
        assert eventually(lambda: delivery.stats["failed"] >= 1), delivery.stats       # each attempt is cut off
    assert any("no complete answer within 2 s" in r.getMessage() for r in caplog.records)


def test_a_users_queue_is_bounded_and_what_it_drops_is_counted_and_logged(made, caplog):
    slow = Endpoint(dripping)
    made(slow)
    delivery = CallbackDelivery(attempts=1, deadline=5.0, per_user_pending=3, per_user_in_flight=1)
    made(delivery)
    with caplog.at_level(logging.ERROR, logger="reference.server.callbacks"):
        for n in range(10):
            delivery.deliver(slow.url, f"SLOW-{n}", b"<x/>", "90-B3-D5-1F-30-01-00-03")
        assert eventually(lambda: delivery.stats["dropped"] >= 5), delivery.stats
    assert any("already wait to be delivered" in r.getMessage() for r in caplog.records)


def test_a_delivery_that_cannot_be_made_is_counted_and_logged_not_lost_silently(made, caplog):
    """D16: a URL httpx cannot use raised outside what the delivery caught: lost, neither counted nor logged."""
    delivery = CallbackDelivery(attempts=2, pause=0.0)
    made(delivery)
    with caplog.at_level(logging.ERROR, logger="reference.server.callbacks"):
        delivery.deliver("http://127.0.0.1:1/out\tcomes", "RID-TAB", b"<x/>")
        assert eventually(lambda: delivery.stats["failed"] == 1), delivery.stats
    assert any("RID-TAB" in r.getMessage() and "gave up" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/out\tcomes", "http://127.0.0.1:1/out comes",
                                 "http://127.0.0.1:1/out\ncomes", "http://127.0.0.1:1/out\x00comes",
                                 "http://127.0.0.1:1/out\x7fcomes", "http://127.0.0.1:1/outcomes\u00e9",
                                 "http://127.0.0.1:99999/outcomes"])
def test_a_callback_url_with_a_control_character_or_white_space_is_not_one(url):
    assert not callbacks.is_callback_url(url)
    assert callbacks.is_callback_url("http://127.0.0.1:1/outcomes?a=b%20c")


# --- through the served reference ------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference():
    """The reference in this process, as `--target serve` starts it (--callback-allow 127.0.0.1, no token)."""
    host = InProcessReference()
    host.start()
    target = host.target()
    cast = Cast()
    target.provision(cast.fixture())
    for party in cast.parties:
        target.register_signer(party.user_id, party.signer)
    yield host, target, cast
    host.close()


def _register(target, user: str, url: str):
    return target.interface_call("PUT", callback_path(user), user_id=user, body={"url": url})


@pytest.mark.parametrize("path", ["/test-support/v1/reset", "/test-support/v1/switch", "/api/v1/serviceRequest"])
def test_a_callback_url_that_leads_back_to_the_dcc_itself_is_refused(reference, path):
    """D4: `http://127.0.0.1:<port>/test-support/v1/reset` was accepted, and the next outcome wiped the DCC."""
    host, target, cast = reference
    user = cast.parties[0].user_id
    answer = _register(target, user, host.base_url + path)
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert "the DCC itself" in answer.json()["error"]


def test_a_delivery_that_reaches_the_dcc_itself_is_refused_and_does_nothing(reference):
    """However it got there (a name, another address of this machine, a redirect): the DCC's own
    deliveries carry a token only it knows, and the DCC refuses every request that carries it."""
    host, target, cast = reference
    user = cast.parties[1].user_id
    assert _register(target, user, target.receiver.url).status_code == 200
    answer = requests.post(host.base_url + "/test-support/v1/reset", data=b"<x/>", timeout=10,
                           headers={"Content-Type": "application/xml", callbacks.LOOP_HEADER: callbacks.LOOP_TOKEN})
    assert answer.status_code == 403
    assert requests.get(host.base_url + "/test-support/v1/state", timeout=10).json()["callbacks"].get(user) \
        == target.receiver.url                                  # not reset


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/out\tcomes", "http://127.0.0.1:1/out comes"])
def test_a_callback_url_with_white_space_is_refused_at_registration(reference, url):
    """D16: a URL with a tab was accepted, and every delivery to it was then lost silently."""
    _, target, cast = reference
    answer = _register(target, cast.parties[0].user_id, url)
    assert answer.status_code == 400, (answer.status_code, answer.text)
