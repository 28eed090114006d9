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


# --- one request-head size limit, whatever the chunking (ruling) --------------------------------------

def head_of(size: int) -> bytes:
    """A GET of test support's state whose head is about `size` bytes (one long header field)."""
    start = b"GET /test-support/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


def send_head(base_url: str, head: bytes, piece: int | None) -> bytes:
    with socket.create_connection(host_port(base_url), timeout=WAIT) as sock:
        try:
            for at in range(0, len(head), piece or len(head)):
                sock.sendall(head[at:at + (piece or len(head))])
                if piece:
                    time.sleep(0.001)
        except OSError:
            pass                                         # refused and closed before the end: read the answer
        return read_all(sock, 5.0)


@pytest.mark.parametrize("piece", [None, 1024], ids=["in one read", "in 1 KB pieces"])
def test_one_head_size_limit_whatever_the_chunking(served, piece):
    """A 100 KB head passed in one read while 200 KB (and 16 KB in pieces) was refused."""
    small, large = send_head(served.base_url, head_of(20_000), piece), send_head(served.base_url, head_of(40_000), piece)
    assert small.startswith(b"HTTP/1.1 200 "), small[:200]
    assert large.startswith(b"HTTP/1.1 431 "), large[:200]
    huge = send_head(served.base_url, head_of(200_000), piece)
    assert huge.startswith((b"HTTP/1.1 431 ", b"HTTP/1.1 400 ")) or huge == b"", huge[:200]


# --- Content-Length with Transfer-Encoding: refused, and the connection closed (D12) -----------------

def test_content_length_with_transfer_encoding_closes_the_connection(served):
    """RFC 9112 §6.1: the probe's next request on the same connection was answered."""
    smuggled = (b"POST /api/v1/serviceRequest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\nContent-Type: application/xml\r\n\r\n0\r\n\r\n"
                b"GET /test-support/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = exchange(served.base_url, smuggled, wait=5.0)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, answer             # the second request was never read


# --- a body in tiny pieces cannot starve the server (D5); a client gone mid-body: no traceback (D11) ---

def test_a_body_in_one_byte_chunks_is_refused_before_it_ends(served):
    head = (b"POST /api/v1/serviceRequest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    with socket.create_connection(host_port(served.base_url), timeout=WAIT) as sock:
        sock.sendall(head)
        try:
            for _ in range(5000):                     # the probe's 8 MiB would have taken the server minutes
                sock.sendall(b"1\r\n<\r\n")
        except OSError:
            pass                                      # closed by the server: what is wanted
        answer = read_all(sock, 5.0)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"pieces" in answer, answer[:300]


def test_a_body_in_ordinary_pieces_is_read(served):
    body = json.dumps({"on": switch(served.base_url)}).encode()
    head = (b"PUT /test-support/v1/switch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode())
    with socket.create_connection(host_port(served.base_url), timeout=WAIT) as sock:
        sock.sendall(head)
        for at in range(0, len(body), 4):             # a few small reads: far below the piece rule
            sock.sendall(body[at:at + 4])
            time.sleep(0.01)
        assert read_all(sock, 2.0).startswith(b"HTTP/1.1 200 ")


@pytest.fixture
def server_log():
    """Every record the served reference logs meanwhile (uvicorn's own loggers do not reach the root)."""
    import logging
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)
    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("uvicorn", "reference")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger("reference").setLevel(logging.INFO)
    yield records
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def tracebacks(records) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or "Traceback" in r.getMessage()]


@pytest.mark.parametrize("path, method, content_type", [
    ("/api/v1/serviceRequest", "POST", "application/xml"),
    ("/test-support/v1/load", "POST", "application/json"),
    ("/api/v1/users/90-B3-D5-1F-30-01-00-01/callback", "PUT", "application/json"),
])
def test_a_client_that_closes_mid_body_leaves_no_traceback(served, server_log, path, method, content_type):
    with socket.create_connection(host_port(served.base_url), timeout=WAIT) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: 1000\r\n\r\n".encode() + b"<" * 10)
        time.sleep(0.2)                                  # the body is being read: then the client goes
    deadline = time.monotonic() + WAIT                   # bounded: until the server has noticed
    while time.monotonic() < deadline and not any("closed the connection" in r.getMessage() or r.exc_info
                                                  for r in server_log):
        time.sleep(0.02)
    assert not tracebacks(server_log), tracebacks(server_log)
    assert any("closed the connection before its request body was whole" in r.getMessage() for r in server_log)


# --- deeply nested JSON: a clean 400 (D9) -------------------------------------------------------------

@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_clean_400(served, server_log, depth):
    body = b"[" * depth + b"]" * depth
    answer = requests.post(served.base_url + "/test-support/v1/load", data=body, timeout=WAIT,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "nested" in answer.json()["error"], answer.text[:300]
    assert not tracebacks(server_log), tracebacks(server_log)


# --- idle connections cannot exhaust the server (D14) --------------------------------------------------

def test_idle_connections_beyond_the_cap_close_the_oldest_not_the_server():
    """At 25,000 idle connections the server ran out of file descriptors and a valid request waited
    4.5 s. With a cap (8 here), each new connection beyond it closes the oldest idle one."""
    with InProcessReference("--max-connections", "8") as base_url:
        idle = [socket.create_connection(host_port(base_url), timeout=WAIT) for _ in range(20)]
        try:
            answer = requests.get(base_url + "/test-support/v1/state", timeout=WAIT)
            assert answer.status_code == 200
            closed = 0
            for sock in idle:
                sock.settimeout(0.2)
                try:
                    closed += sock.recv(1) == b""
                except (TimeoutError, ConnectionError):
                    pass
            assert closed >= 12, closed                 # the oldest ones made room
        finally:
            for sock in idle:
                sock.close()


# --- TLS: a handshake that never finishes is dropped; the client CA's own certificate is no client ---

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA (whose key the test holds, to present the CA's own certificate as a client) and the DCC's pair."""
    import importlib.util
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("make_tls_material", root / "scripts" / "make_tls_material.py")
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)
    folder = tmp_path_factory.mktemp("tls-hardening")
    made = tools.make(folder, readme=False)
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "a client CA")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    client_key, client = tools._leaf("a client", ca_key, ca, now - timedelta(days=1), now + timedelta(days=30))
    files = {"client-ca.pem": tools._pem(ca), "client-ca.key.pem": tools._pem_key(ca_key),
             "client.pem": tools._pem(client), "client.key.pem": tools._pem_key(client_key)}
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return {**made, **{file: folder / file for file in files}}


def test_a_tls_handshake_that_never_finishes_is_dropped_at_the_head_deadline(tls):
    """It was held 60 s (asyncio's default), whatever --body-timeout said."""
    with InProcessReference("--tls-certificate", str(tls["dcc.pem"]), "--tls-key", str(tls["dcc.key.pem"]),
                            "--body-timeout", "1") as base_url:
        with socket.create_connection(host_port(base_url), timeout=WAIT) as sock:
            sock.sendall(b"\x16\x03\x01")                # the start of a ClientHello, and nothing more
            sock.settimeout(8.0)                         # a bound, well below asyncio's 60 s
            assert sock.recv(1) == b""                   # closed by the server (a timeout raises)


def test_mutual_tls_takes_end_entity_client_certificates_only(tls):
    """The client CA's own certificate was accepted as a client certificate."""
    import ssl
    with InProcessReference("--tls-certificate", str(tls["dcc.pem"]), "--tls-key", str(tls["dcc.key.pem"]),
                            "--tls-client-ca", str(tls["client-ca.pem"])) as base_url:
        def get(cert: str, key: str):
            return requests.get(base_url + "/test-support/v1/state", cert=(str(tls[cert]), str(tls[key])),
                                verify=str(tls["ca.pem"]), timeout=WAIT)
        assert get("client.pem", "client.key.pem").status_code == 200        # an end entity of that CA
        with pytest.raises((requests.ConnectionError, ssl.SSLError)):
            get("client-ca.pem", "client-ca.key.pem")                         # the CA itself


# --- pending Pre-Commands are kept per user (D7) --------------------------------------------------------

def test_one_users_transforms_never_evict_anothers_pending_pre_command(monkeypatch):
    """10,052 transforms by others evicted a victim's Pre-Command from the one shared table, and the
    victim's Signed Pre-Command then got E1."""
    from types import SimpleNamespace

    from duis.types import RequestID
    from reference import critical
    monkeypatch.setattr(critical, "MAX_PENDING", 50)
    flow = critical.CriticalFlow(dcc=None)

    def transform(rid):
        return critical.Transform(SimpleNamespace(request_id=RequestID.parse(rid)), b"\xdf", time.monotonic())
    victim = "90-B3-D5-1F-30-01-00-03:00-DB-00-00-00-00-00-01:7"
    flow._remember(victim, transform(victim))
    for n in range(1, 200):
        rid = f"90-B3-D5-1F-30-02-00-04:00-DB-00-00-00-00-00-02:{n}"
        flow._remember(rid, transform(rid))
    assert flow._issued(victim) is not None                        # still there for its signature
    assert flow.pending() == 1 + 50                                # the other user's oldest went first
    assert flow._issued("90-B3-D5-1F-30-02-00-04:00-DB-00-00-00-00-00-02:1") is None


# --- replay protection survives a restart (D8) -------------------------------------------------------

def test_the_last_accepted_originator_counter_survives_a_restart(tmp_path):
    """A 6.21 captured before a restart was accepted after it and put the wrong NO's certificates back."""
    from reference.dcc import ReferenceDCC
    user = "90-B3-D5-1F-30-01-00-03"
    first = ReferenceDCC(data_dir=tmp_path)
    try:
        assert first.dsp.counters.take(user, 1000) is None
    finally:
        first.close()
    again = ReferenceDCC(data_dir=tmp_path)          # the same data folder: the DCC restarted
    try:
        assert again.dsp.counters.take(user, 1000) == 1000      # the captured request: refused
        assert again.dsp.counters.take(user, 1001) is None
        again.reset()                                         # a test-support reset forgets, as before
        assert again.dsp.counters.take(user, 5) is None
    finally:
        again.close()


def test_the_harness_receiver_takes_end_entity_client_certificates_only(tls):
    """The same ruling on the harness's side: its callback receiver, serving mutual TLS."""
    import ssl

    from adapters.callbacks import CallbackReceiver, server_tls_context
    receiver = CallbackReceiver(tls=server_tls_context(str(tls["dcc.pem"]), str(tls["dcc.key.pem"]),
                                                       client_ca=str(tls["client-ca.pem"])))
    try:
        def post(cert: str, key: str):
            return requests.post(receiver.url, data=b"<x/>", cert=(str(tls[cert]), str(tls[key])),
                                 verify=str(tls["ca.pem"]), timeout=WAIT)
        assert post("client.pem", "client.key.pem").status_code == 400          # heard (and refused: not a Response)
        with pytest.raises((requests.ConnectionError, ssl.SSLError)):
            post("client-ca.pem", "client-ca.key.pem")
        assert any("the client certificate is a CA's" in r for r in receiver.refused), list(receiver.refused)
    finally:
        receiver.close()
