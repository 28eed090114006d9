#!/usr/bin/env python3
"""The in-process target's two possible transports, measured (issue 11: "a requests transport
adapter that calls the app, or the app on a loopback socket -- measure both").

The reference's app is hosted in this process (adapters/reference_host.py, as `pytest features`
does) and provisioned with the harness's cast and one SMETS1 ESME. The same pre-signed SRV 6.24.1
requests (rising OriginatorCounters, built before timing) are POSTed to /api/v1/serviceRequest
and their acknowledgements read, one at a time, two ways:

- socket: requests.Session over the loopback socket to uvicorn in a thread -- what the harness uses;
- in-process transport: Starlette's TestClient (an httpx transport that calls the ASGI app in this
  process, no socket) -- the "transport adapter" alternative.

Prints wall and CPU (process) milliseconds per request, medians of --runs batches of --requests.

    .venv/bin/python bench/bench_inprocess.py [--runs 5] [--requests 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from common import machine  # (importing common puts the project on sys.path and sets DUIS_SCHEMA_DIR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)

    import requests
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from adapters import service_requests as srv
    from adapters.client import Client
    from adapters.reference_host import InProcessReference
    from adapters.world import Cast, new_device
    from duis import codec

    host = InProcessReference()
    target = host.target()
    cast = Cast()
    setup = new_device(cast, fuel="electricity", smets=1, s1sp="S1SP1", cohort="IOC")
    target.provision(cast.fixture())
    target.provision(setup.fixture)
    sender = cast.party("registered network operator", "electricity")
    client = Client(target)
    app = host._served.server.config.app

    def batch() -> list[bytes]:
        return [codec.encode_signed_request(client.build(sender.user_id, setup.device.device_id, "6.24.1",
                                                         srv.retrieve_security_credentials("NetworkOperator")),
                                            sender.signer) for _ in range(args.requests)]

    url = host.base_url + "/api/v1/serviceRequest"
    headers = {"Content-Type": "application/xml"}
    results: dict[str, list[tuple[float, float]]] = {"socket": [], "in-process transport": []}
    session = requests.Session()
    with TestClient(app) as inproc:
        for _ in range(args.runs):
            for name in results:
                bodies = batch()
                wall, cpu = time.perf_counter(), time.process_time()
                for body in bodies:
                    answer = (session.post(url, data=body, headers=headers, timeout=30) if name == "socket"
                              else inproc.post("/api/v1/serviceRequest", content=body, headers=headers))
                    if answer.status_code != 200 or b"I99" not in answer.content:
                        print(f"{name}: unexpected answer HTTP {answer.status_code}", file=sys.stderr)
                        return 1
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                results[name].append((wall * 1000 / len(bodies), cpu * 1000 / len(bodies)))
    session.close()
    host.close()
    m = machine()
    print(f"{m['cpu']}, nproc {m['nproc']}, Python {m['python']}, git {m['git']}")
    print(f"SRV 6.24.1 acknowledged by the in-process reference, median of {args.runs} x {args.requests}:")
    for name, figures in results.items():
        print(f"  {name:22s} {statistics.median(w for w, _ in figures):6.2f} ms wall, "
              f"{statistics.median(c for _, c in figures):6.2f} ms CPU a request")
    socket_ms = statistics.median(w for w, _ in results["socket"])
    inproc_ms = statistics.median(w for w, _ in results["in-process transport"])
    print(f"  in-process transport / socket: {inproc_ms / socket_ms:.2f}x wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
