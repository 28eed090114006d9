"""Issue 20's bounds under attack, as a benchmark (the tests never assert timings or sizes of memory).

Against one served reference (`python -m reference serve --test-support --callback-allow 127.0.0.1`,
a subprocess, loopback), provisioned with the cast and a SMETS1 ESME:

- slow-chunk: 16 connections each POST a chunked body one byte per chunk as fast as they can (and
  connect again when the server closes them); meanwhile a valid, freshly signed 6.24.1 is sent on its
  own connection, 10 times per run: the time to its acknowledgement (I99);
- idle: 1,000 connections are opened and send nothing; then the same valid request, 10 times;
- callback endpoints: three users register callbacks to three hostile endpoints (one answers a 1 MB
  gzip of 1 GB of zeros, one an endless chunked body, one a status line a byte every 0.2 s) and send
  20 requests each, whose outcomes are pushed there; then the server's peak resident memory (VmHWM);
- the harness's receiver: a CallbackReceiver in a process of its own gets 400 POSTs declaring 4 MiB
  that stall after 1 MiB, 1,000 idle connections and 50 whole 4 MiB POSTs of junk; then its peak
  resident memory;
- tracebacks: lines starting "Traceback" in the served reference's log and in the receiver's output.

Targets (issue 20): acknowledged in < 1 s beside 16 slow-chunk connections and beside 1,000 idle ones;
the served reference < 300 MB whatever its callback endpoints answer; the harness < 300 MB whatever
reaches its receiver; no traceback in either log.
"""
from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_hostile import post
from common import ROOT, Options, Outcome, Row, fmt_s, median, say

NAME = "attack"
SLOW_CHUNK_CONNECTIONS = 16
IDLE_CONNECTIONS = 1000
TARGET_ACK = 1.0
TARGET_MB = 300
RECEIVER_SCRIPT = """
import sys, time
from adapters.callbacks import CallbackReceiver
receiver = CallbackReceiver()
print(receiver.url, flush=True)
sys.stdin.read()          # until the bench closes our stdin
receiver.close()
"""


def peak_mb(pid: int) -> float:
    """VmHWM (peak resident set) of process `pid`, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    return host, int(port)


def _slow_chunks(base_url: str, stop: threading.Event, counts: dict) -> None:
    head = (b"POST /api/v1/serviceRequest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    while not stop.is_set():
        try:
            with socket.create_connection(_host_port(base_url), timeout=5) as sock:
                sock.sendall(head)
                counts["connections"] += 1
                while not stop.is_set():
                    sock.sendall(b"1\r\n<\r\n")
        except OSError:
            counts["closed"] += 1


def _endpoints(stop: threading.Event) -> tuple[list[str], list[threading.Thread]]:
    bomb = gzip.compress(b"\0" * (1024 * 1024 * 1024), compresslevel=9)     # ~1 MB on the wire, 1 GB inside

    def gzip_bomb(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
                     + bomb)

    def endless(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        while not stop.is_set():
            conn.sendall(chunk)

    def drip(conn):
        for byte in b"HTTP/1.1 200 OK\r\nX: " + b"a" * 10_000:
            if stop.wait(0.2):
                return
            conn.sendall(bytes([byte]))

    urls, threads = [], []
    for answer in (gzip_bomb, endless, drip):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)
        urls.append(f"http://127.0.0.1:{listener.getsockname()[1]}/outcomes")

        def accept(listener=listener, answer=answer):
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue

                def serve(conn=conn):
                    with conn:
                        try:
                            conn.settimeout(30)
                            data = b""
                            while b"\r\n\r\n" not in data:
                                data += conn.recv(65536)
                            answer(conn)
                        except OSError:
                            pass
                threading.Thread(target=serve, daemon=True).start()
            listener.close()
        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
    return urls, threads


def _attack_receiver(url: str) -> dict:
    host, port = _host_port(url)
    counts = {"stalled": 0, "idle": 0, "junk": 0, "refused": 0}
    held = []
    junk = b"<" * (4 * 1024 * 1024)
    for _ in range(50):                           # read whole, and refused (not a Response)
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(f"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: {len(junk)}\r\n\r\n".encode()
                             + junk)
                sock.settimeout(10)
                sock.recv(100)
                counts["junk"] += 1
        except OSError:
            counts["refused"] += 1
    for _ in range(400):
        try:
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"POST /outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n")
            sock.sendall(b"<" * (1024 * 1024))
            held.append(sock)
            counts["stalled"] += 1
        except OSError:
            counts["refused"] += 1
    for _ in range(IDLE_CONNECTIONS):
        try:
            held.append(socket.create_connection((host, port), timeout=5))
            counts["idle"] += 1
        except OSError:
            counts["refused"] += 1
    time.sleep(1.0)
    for sock in held:
        sock.close()
    return counts


def run(opts: Options) -> Outcome:
    from adapters import service_requests as srv
    from adapters.client import Client
    from adapters.http import HttpTarget, callback_path
    from adapters.profile import Callbacks, Profile
    from adapters.reference_host import ServedReference
    Path(opts.workdir).mkdir(parents=True, exist_ok=True)
    from adapters.world import Cast, new_device
    from duis import codec, signing

    runs = opts.runs_or(3, 1)
    out = Outcome(NAME)
    say("attack: serving the reference")
    served = ServedReference(log_path=Path(opts.workdir) / "attack-served.log")
    base_url = served.start()
    target, stop = None, threading.Event()
    slow, idle, alone, problems = [], [], [], []
    try:
        target = HttpTarget(base_url, Profile(name="bench-attack", callbacks=Callbacks(mode="poll")))
        cast = Cast()
        target.provision(cast.fixture())
        for party in cast.parties:
            target.register_signer(party.user_id, party.signer)
        setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort=target.cohort_of("S1SP1"))
        target.provision(setup.fixture)
        operator = cast.party("registered network operator", "electricity")
        client = Client(target, outcome_timeout=30)

        def valid(who=operator) -> bytes:
            request = client.build(who.user_id, setup.device.device_id, "6.24.1",
                                   srv.retrieve_security_credentials("NetworkOperator"))
            return signing.sign(codec.encode_request(request), who.signer)

        def acknowledged(into: list) -> None:
            seconds, status, code = post(base_url, valid())
            into.append(seconds)
            if code != "I99":
                problems.append(f"valid request answered HTTP {status} {code}")

        post(base_url, valid())                                   # warm up
        for _ in range(10):
            acknowledged(alone)
        for r in range(runs):
            counts = {"connections": 0, "closed": 0}
            chunkers = [threading.Thread(target=_slow_chunks, args=(base_url, stop, counts), daemon=True)
                        for _ in range(SLOW_CHUNK_CONNECTIONS)]
            for t in chunkers:
                t.start()
            time.sleep(1.0)
            for _ in range(10):
                acknowledged(slow)
            stop.set()
            for t in chunkers:
                t.join(timeout=30)
            stop.clear()
            say(f"attack run {r + 1}/{runs}: beside {SLOW_CHUNK_CONNECTIONS} slow-chunk connections "
                f"({counts['connections']} opened, {counts['closed']} closed by the server) "
                f"{fmt_s(median(slow[-10:]))}, max {fmt_s(max(slow[-10:]))}")
            sockets = []
            try:
                for _ in range(IDLE_CONNECTIONS):
                    sockets.append(socket.create_connection(_host_port(base_url), timeout=5))
                for _ in range(10):
                    acknowledged(idle)
            finally:
                for sock in sockets:
                    sock.close()
            say(f"attack run {r + 1}/{runs}: beside {IDLE_CONNECTIONS} idle connections {fmt_s(median(idle[-10:]))}, "
                f"max {fmt_s(max(idle[-10:]))}")

        say("attack: outcomes pushed to hostile callback endpoints")
        urls, endpoint_threads = _endpoints(stop)
        sent = 0
        for url in urls:                        # the registered NO's callback, to each endpoint in turn
            answer = target.interface_call("PUT", callback_path(operator.user_id), user_id=operator.user_id,
                                           body={"url": url})
            if answer.status_code != 200:
                problems.append(f"callback registration answered HTTP {answer.status_code}")
            for _ in range(7):
                if post(base_url, valid())[2] == "I99":
                    sent += 1
            time.sleep(2)                       # delivered (or being cut off) before the URL changes
        time.sleep(12)                          # every attempt ends within its 10 s deadline
        server_mb = peak_mb(served.process.pid)
        stop.set()
        say(f"attack: {sent} outcomes pushed to hostile endpoints; the served reference's peak {server_mb:.0f} MB")
    finally:
        stop.set()
        if target is not None:
            target.close()
        served.stop()
    server_tracebacks = sum(1 for line in served.log().splitlines() if line.startswith("Traceback"))

    say("attack: the harness's callback receiver, in a process of its own")
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER_SCRIPT], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = receiver.stdout.readline().strip()
        counts = _attack_receiver(url)
        receiver_mb = peak_mb(receiver.pid)
    finally:
        receiver.stdin.close()
        try:
            receiver.wait(timeout=30)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()
    receiver_out = receiver.stderr.read()
    receiver_tracebacks = sum(1 for line in receiver_out.splitlines() if line.startswith("Traceback"))
    say(f"attack: receiver got {counts}; peak {receiver_mb:.0f} MB; tracebacks: server {server_tracebacks}, "
        f"receiver {receiver_tracebacks}")

    out.data = {"runs": runs, "alone_seconds": alone, "slow_chunk_seconds": slow, "idle_seconds": idle, "server_peak_mb": server_mb,
                "receiver_peak_mb": receiver_mb, "receiver_attack": counts, "server_tracebacks": server_tracebacks,
                "receiver_tracebacks": receiver_tracebacks, "problems": problems}
    note = "; ".join(sorted(set(problems)))[:200]
    judged = not opts.quick and not problems
    out.rows.append(Row(f"valid 6.24.1 acknowledged beside {SLOW_CHUNK_CONNECTIONS} slow-chunk connections",
                        f"{fmt_s(median(slow))} (median of {len(slow)}; max {fmt_s(max(slow))}; alone "
                        f"{fmt_s(median(alone))})",
                        f"< {TARGET_ACK:g} s", max(slow) < TARGET_ACK if judged else None, note))
    out.rows.append(Row(f"valid 6.24.1 acknowledged beside {IDLE_CONNECTIONS:,} idle connections",
                        f"{fmt_s(median(idle))} (median of {len(idle)}; max {fmt_s(max(idle))})",
                        f"< {TARGET_ACK:g} s", max(idle) < TARGET_ACK if judged else None, note))
    out.rows.append(Row("served reference's peak memory, outcomes pushed to a gzip bomb, an endless and a dripping "
                        "callback endpoint", f"{server_mb:.0f} MB", f"< {TARGET_MB} MB",
                        server_mb < TARGET_MB if judged else None, note))
    out.rows.append(Row("harness's receiver peak memory: 400 stalled 4 MiB POSTs, 1,000 idle connections, 50 whole "
                        "4 MiB POSTs", f"{receiver_mb:.0f} MB", f"< {TARGET_MB} MB",
                        receiver_mb < TARGET_MB if not opts.quick else None))
    out.rows.append(Row("tracebacks in the logs (served reference / receiver), every case above",
                        f"{server_tracebacks} / {receiver_tracebacks}", "0 / 0",
                        server_tracebacks == 0 and receiver_tracebacks == 0))
    return out


BENCHMARKS = {NAME: run}
