"""Issue 10's bound on hostile input, as a benchmark (the tests never assert timings).

Against one served reference (`python -m reference serve --test-support`, a subprocess, loopback),
provisioned with the cast and a SMETS1 ESME:

- refusal: a signed SRV 6.24.1 with 5,000 undeclared attributes on `sr:Request` (about 53 KB) is
  POSTed on its own connection (http.client); the time from sending to the whole answer, which must
  be a refusal (HTTP 4xx, or a DUIS Response whose code is not I99). Median of `runs` x 5 sends.
- alongside: eight such requests and one valid, freshly signed 6.24.1 from the registered network
  operator are released together (nine threads, nine connections, a barrier); the time to the valid
  one's acknowledgement, which must be I99. Median (and max) of `runs` x 3 rounds; the valid request
  alone is timed the same way for comparison.

Targets (issue 10): refused in < 50 ms; acknowledged in < 1 s alongside eight of them.
"""
from __future__ import annotations

import re
import threading
import time

from common import Options, Outcome, Row, fmt_s, median, say

NAME = "hostile"
ATTRIBUTES = 5_000
ALONGSIDE = 8
TARGET_REFUSAL = 0.050
TARGET_ALONGSIDE = 1.0
_CODE = re.compile(rb"ResponseCode>\s*([A-Za-z0-9]+)\s*<")


def with_attributes(raw: bytes, count: int) -> bytes:
    attributes = b"".join(b' a%d="x"' % i for i in range(count))
    head, sep, tail = raw.partition(b"<sr:Request")
    if not sep:
        raise ValueError("no <sr:Request in the request")
    return head + sep + attributes + tail


def post(base_url: str, body: bytes) -> tuple[float, int, str]:
    """(seconds to the whole answer, HTTP status, ResponseCode or '-') on a new connection."""
    import http.client
    from urllib.parse import urlsplit
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.connect()
    try:
        t = time.perf_counter()
        conn.request("POST", "/api/v1/serviceRequest", body=body, headers={"Content-Type": "application/xml"})
        answer = conn.getresponse()
        data = answer.read()
        seconds = time.perf_counter() - t
    finally:
        conn.close()
    match = _CODE.search(data)
    return seconds, answer.status, match.group(1).decode() if match else "-"


def refused(status: int, code: str) -> bool:
    return 400 <= status < 500 or (status == 200 and code not in ("I99", "-"))


def run(opts: Options) -> Outcome:
    from adapters import service_requests as srv
    from adapters.client import Client
    from adapters.http import HttpTarget
    from adapters.reference_host import ServedReference
    from adapters.profile import Callbacks, Profile
    from adapters.world import Cast, new_device
    from duis import codec, signing

    runs = opts.runs_or(5, 1)
    out = Outcome(NAME)
    say("hostile: serving the reference")
    served = ServedReference()
    base_url = served.start()
    target = None
    try:
        target = HttpTarget(base_url, Profile(name="bench-hostile", callbacks=Callbacks(mode="poll")))
        cast = Cast()
        target.provision(cast.fixture())
        setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort=target.cohort_of("S1SP1"))
        target.provision(setup.fixture)
        operator = cast.party("registered network operator", "electricity")
        client = Client(None)

        def valid() -> bytes:
            request = client.build(operator.user_id, setup.device.device_id, "6.24.1",
                                   srv.retrieve_security_credentials("NetworkOperator"))
            return signing.sign(codec.encode_request(request), operator.signer)

        hostile = with_attributes(valid(), ATTRIBUTES)
        post(base_url, valid())                     # warm up
        refusals, alone, alongside, problems = [], [], [], []
        for r in range(runs):
            for _ in range(5):
                seconds, status, code = post(base_url, hostile)
                refusals.append(seconds)
                if not refused(status, code):
                    problems.append(f"hostile request answered HTTP {status} {code}")
            for _ in range(3):
                seconds, status, code = post(base_url, valid())
                alone.append(seconds)
                if code != "I99":
                    problems.append(f"valid request alone answered HTTP {status} {code}")
                alongside.append(_round(base_url, hostile, valid(), problems))
            say(f"hostile run {r + 1}/{runs}: refusal {fmt_s(median(refusals[-5:]))}, valid alone "
                f"{fmt_s(median(alone[-3:]))}, valid alongside {ALONGSIDE} {fmt_s(median(alongside[-3:]))} "
                f"(max {fmt_s(max(alongside[-3:]))})")
    finally:
        if target is not None:
            target.close()
        served.close()
    refusal, together = median(refusals), median(alongside)
    out.data = {"runs": runs, "attributes": ATTRIBUTES, "hostile_bytes": len(hostile),
                "refusal_seconds": refusals, "valid_alone_seconds": alone, "valid_alongside_seconds": alongside,
                "refusal_median": refusal, "alongside_median": together, "alongside_max": max(alongside),
                "alone_median": median(alone), "problems": problems}
    note = "; ".join(sorted(set(problems)))[:200]
    out.rows.append(Row(f"{ATTRIBUTES:,}-attribute request ({len(hostile) // 1000} KB) refused",
                        f"{fmt_s(refusal)} to the answer (median of {len(refusals)}; max {fmt_s(max(refusals))})",
                        f"< {TARGET_REFUSAL * 1e3:.0f} ms", None if opts.quick or problems else refusal < TARGET_REFUSAL, note))
    out.rows.append(Row(f"valid 6.24.1 sent alongside {ALONGSIDE} of them, acknowledged",
                        f"{fmt_s(together)} (median of {len(alongside)}; max {fmt_s(max(alongside))}; "
                        f"alone {fmt_s(median(alone))})",
                        f"< {TARGET_ALONGSIDE:g} s", None if opts.quick or problems else together < TARGET_ALONGSIDE, note))
    return out


def _round(base_url: str, hostile: bytes, valid: bytes, problems: list[str]) -> float:
    """Eight hostile requests and one valid one released together; the valid one's time to its answer."""
    barrier = threading.Barrier(ALONGSIDE + 1)
    results: dict[str, tuple] = {}

    def send(name: str, body: bytes) -> None:
        barrier.wait()
        results[name] = post(base_url, body)

    threads = [threading.Thread(target=send, args=(f"hostile{i}", hostile)) for i in range(ALONGSIDE)]
    threads.append(threading.Thread(target=send, args=("valid", valid)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    seconds, status, code = results["valid"]
    if code != "I99":
        problems.append(f"valid request alongside answered HTTP {status} {code}")
    for name, (_, status, code) in results.items():
        if name != "valid" and not refused(status, code):
            problems.append(f"hostile request alongside answered HTTP {status} {code}")
    return seconds


BENCHMARKS = {NAME: run}
