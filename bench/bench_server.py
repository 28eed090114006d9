"""The served reference's throughput of signed SRV 6.15.1s with several concurrent clients.

One `python -m reference serve --test-support` (adapters.reference_host.ServedReference, loopback), provisioned
through test support with one network operator (user role ED) per client, each the registered network
operator of its own SMETS1 ESMEs spread over the three S1SPs. Each client is a separate process
(multiprocessing, spawn): it builds and signs all its requests first (a 6.15.1 putting its own
certificates back in the NetworkOperator slot: I99 then I0), waits for the start signal, then POSTs
them one after the other on one keep-alive connection (http.client, nothing else around it), so the
clients spend as little CPU as a client can while the server works. The server and the clients share
the machine's cores: on 2 cores, more clients than cores takes CPU from the server.

Measured per number of clients (1, 2, 4, 8), `runs` times each, medians:
- acknowledged/s: requests answered I99 / time from the start signal to the last answer;
- completed/s: requests whose signed final outcome is filed / time from the start signal until the
  outcome of the last request acknowledged for each S1SP exists (each S1SP processes in arrival
  order; polled every 20 ms with the harness's signed GET /api/v1/responses/{RequestID});
- afterwards, every outcome is read back and must be I0;
- the median latency of one acknowledgement.
Target: >= 500 signed 6.15.1 acknowledged per second on loopback (the best client count).
"""
from __future__ import annotations

import multiprocessing as mp
import re
import time
from collections import Counter

from common import Options, Outcome, Row, median, process_cpu, say

NAME = "server"
TARGET_PER_SECOND = 500.0
_CODE = re.compile(rb"ResponseCode>\s*([A-Za-z0-9]+)\s*<")


def _client(spec: dict, ready, start, results) -> None:
    """One load generator: sign every request, then send them back to back when `start` is set."""
    import http.client
    from urllib.parse import urlsplit

    from adapters import service_requests as srv
    from adapters.client import Client
    from duis import codec, signing

    signer = signing.Signer.from_bytes(spec["key"], spec["cert"])
    client = Client(None)
    body = srv.update_security_credentials("NetworkOperator", spec["pair"], spec["path"])
    prepared = []
    for i in range(spec["count"]):
        device = spec["devices"][i % len(spec["devices"])]
        request = client.build(spec["user_id"], device, "6.15.1", body)
        prepared.append((str(request.request_id), spec["s1sp_of"][device],
                         signing.sign(codec.encode_request(request), signer)))
    url = urlsplit(spec["base_url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.connect()
    ready.release()
    start.wait()
    sent = []
    for rid, s1sp, xml in prepared:
        t = time.monotonic()
        conn.request("POST", "/api/v1/serviceRequest", body=xml, headers={"Content-Type": "application/xml"})
        answer = conn.getresponse()
        data = answer.read()
        done = time.monotonic()
        match = _CODE.search(data)
        sent.append((rid, s1sp, answer.status, match.group(1).decode() if match else "?", t, done))
    conn.close()
    results.put(sent)


class Rig:
    """The served reference and its clients' users and devices."""

    def __init__(self, max_clients: int, devices_per_client: int) -> None:
        from adapters.fixtures import DeviceFixture, Fixture, RegistrationFixture, SlotFixture, UserFixture
        from adapters.http import HttpTarget
        from adapters.reference_host import ServedReference
        from adapters.profile import Callbacks, Profile, Timeouts
        from adapters.world import Cast, new_device_id, new_mpxn
        self.served = ServedReference()
        self.base_url = self.served.start()
        try:
            self.target = HttpTarget(self.base_url, Profile(name="bench-server", callbacks=Callbacks(mode="poll"),
                                                            timeouts=Timeouts(outcome=30.0)))
            cast = self.cast = Cast()
            self.target.provision(cast.fixture())
            supplier = cast.party("registered supplier", "electricity")
            cohorts = {s: self.target.cohort_of(s) for s in ("S1SP1", "S1SP2", "S1SP3")}
            self.specs = []
            for c in range(max_clients):
                user_id = f"90-B3-D5-1F-40-00-00-{c + 1:02X}"
                creds = cast.smki.issue_user(user_id, {"ED"})
                pair = creds.organisation.der_pair()
                fixture = Fixture(users=[UserFixture(user_id, frozenset({"ED"}), creds.xml_signing.cert_der())])
                s1sp_of = {}
                for d in range(devices_per_client):
                    s1sp = ("S1SP1", "S1SP2", "S1SP3")[d % 3]
                    device = DeviceFixture(new_device_id(), "ESME", 1, new_mpxn("electricity"), s1sp, cohorts[s1sp])
                    fixture.devices.append(device)
                    fixture.registrations.append(RegistrationFixture(device.mpxn, "electricity", supplier.user_id, user_id))
                    fixture.slots += [SlotFixture(device.device_id, "Supplier", *supplier.certificate_pair()),
                                      SlotFixture(device.device_id, "NetworkOperator", *pair)]
                    s1sp_of[device.device_id] = s1sp
                self.target.provision(fixture)
                self.target.register_signer(user_id, creds.xml_signing.key)
                self.specs.append({"user_id": user_id, "key": creds.xml_signing.key_der(),
                                   "cert": creds.xml_signing.cert_der(), "pair": pair,
                                   "path": cast.certification_path(), "devices": list(s1sp_of), "s1sp_of": s1sp_of,
                                   "base_url": self.base_url})
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        target = getattr(self, "target", None)
        if target is not None:
            target.close()
        self.served.close()

    def outcome(self, rid: str) -> bytes | None:
        return self.target._poll(rid)

    def once(self, clients: int, per_client: int) -> dict:
        ctx = mp.get_context("spawn")
        ready, start, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_client, args=({**self.specs[c], "count": per_client}, ready, start, results),
                             daemon=True) for c in range(clients)]
        for p in procs:
            p.start()
        for _ in procs:
            if not ready.acquire(timeout=120):
                raise RuntimeError("a load-generating client did not get ready within 120 s")
        cpu0 = process_cpu(self.served.process.pid)
        t0 = time.monotonic()
        start.set()
        sent = []
        for _ in procs:
            sent += results.get(timeout=600)
        for p in procs:
            p.join(timeout=30)
        acked_at = max(s[5] for s in sent)
        codes = Counter(s[3] for s in sent)
        acked = [s for s in sent if s[3] == "I99"]
        last = {}
        for s in acked:                       # the last acknowledged request of each S1SP finishes last
            if s[1] not in last or s[5] > last[s[1]][5]:
                last[s[1]] = s
        waiting = {s[0] for s in last.values()}
        deadline = time.monotonic() + 120
        while waiting and time.monotonic() < deadline:
            waiting = {rid for rid in waiting if self.outcome(rid) is None}
            if waiting:
                time.sleep(0.02)
        completed_at = time.monotonic()
        server_cpu = process_cpu(self.served.process.pid) - cpu0
        if waiting:
            raise RuntimeError(f"no outcome within 120 s for {sorted(waiting)}")
        outcomes = Counter()
        from duis import codec
        for s in acked:                        # after the clock: every outcome there, and I0
            xml = self.outcome(s[0])
            outcomes[codec.decode_response(xml, verify_with=self.target.dsp_certificate).outcome_code
                     if xml else "missing"] += 1
        return {"clients": clients, "requests": len(sent), "codes": dict(codes), "outcomes": dict(outcomes),
                "ack_seconds": acked_at - t0, "complete_seconds": completed_at - t0,
                "acked_per_second": len(acked) / (acked_at - t0),
                "completed_per_second": len(acked) / (completed_at - t0),
                "latency_median": median(s[5] - s[4] for s in sent),
                "server_cpu_per_request": server_cpu / len(sent)}


def run(opts: Options) -> Outcome:
    runs = opts.runs_or(3, 1)
    counts = (2,) if opts.quick else (1, 2, 4, 8)
    total = 40 if opts.quick else 480
    out = Outcome(NAME)
    say("server: serving the reference, provisioning the clients' users and devices")
    rig = Rig(max(counts), 12 if opts.quick else 30)
    per: dict[int, list[dict]] = {c: [] for c in counts}
    try:
        for r in range(runs):
            for c in counts:
                result = rig.once(c, total // c)
                per[c].append(result)
                say(f"server run {r + 1}/{runs}, {c} client process{'es' if c > 1 else ''}: "
                    f"{result['acked_per_second']:.0f} acknowledged/s, {result['completed_per_second']:.0f} completed/s, "
                    f"ack latency {result['latency_median'] * 1e3:.1f} ms, server CPU "
                    f"{result['server_cpu_per_request'] * 1e3:.1f} ms a request, codes {result['codes']}, outcomes {result['outcomes']}")
    finally:
        rig.close()
    summary = {}
    problems = []
    for c, results in per.items():
        summary[c] = {"acked_per_second": median(x["acked_per_second"] for x in results),
                      "completed_per_second": median(x["completed_per_second"] for x in results),
                      "latency_ms": median(x["latency_median"] for x in results) * 1e3,
                      "server_cpu_ms_per_request": median(x["server_cpu_per_request"] for x in results) * 1e3,
                      "requests": results[0]["requests"]}
        for x in results:
            if x["codes"].keys() != {"I99"} or x["outcomes"].keys() != {"I0"}:
                problems.append(f"{c} clients: codes {x['codes']}, outcomes {x['outcomes']}")
    best = max(summary, key=lambda c: summary[c]["acked_per_second"])
    out.data = {"runs": runs, "total_requests_per_run": total, "per_clients": {str(c): v for c, v in summary.items()},
                "runs_detail": {str(c): v for c, v in per.items()}, "problems": problems}
    figure = "; ".join(f"{c} client{'s' if c > 1 else ''}: {v['acked_per_second']:.0f} ack/s, "
                       f"{v['completed_per_second']:.0f} done/s" for c, v in summary.items())
    cpu = median(v["server_cpu_ms_per_request"] for v in summary.values())
    out.data["server_cpu_ms_per_request"] = cpu
    out.rows.append(Row("reference server, signed 6.15.1 per second (loopback)",
                        f"{figure} (median of {runs} x {total} requests; client processes share the 2 cores); "
                        f"server CPU {cpu:.1f} ms per request (all of it: ack and outcome), so at most "
                        f"{1e3 / cpu:.0f}/s on one core",
                        f">= {TARGET_PER_SECOND:.0f}/s",
                        None if opts.quick or problems else summary[best]["acked_per_second"] >= TARGET_PER_SECOND,
                        "; ".join(problems)[:200]))
    return out


BENCHMARKS = {NAME: run}
