"""A stand-in for issue 16's wire recorder, for tests/test_evidence_bundle.py only, until that lands.

Loaded into a suite run with `-p wire_stand_in` (PYTHONPATH=tests), it writes what issue 16's
contract promises (evidence/wire.py): RUN_DIR/wire/<sha256>.xml, the bytes of each leg as the
harness holds them (the request it sent, the answers it got), and one index line per leg in
RUN_DIR/wire/index-standin-<worker>.jsonl, keyed by the scenario's pytest node ID. It wraps
steps.scenario_state.attach, which every recorded exchange goes through. If the harness records
wire bytes itself, both indexes name the same files; verify-bundle reads every index.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def pytest_configure(config):
    run_dir = config.getoption("--mp107-run-dir", default=None)
    if not run_dir:
        return
    from steps import scenario_state
    folder = Path(run_dir) / "wire"
    folder.mkdir(parents=True, exist_ok=True)
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    index = (folder / f"index-standin-{worker}.jsonl").open("a", encoding="utf-8")
    original = scenario_state.attach

    def leg(scenario, request_id, name, direction, signer, data):
        data = bytes(data or b"")
        digest = hashlib.sha256(data).hexdigest()
        path = folder / f"{digest}.xml"
        if not path.exists():
            tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        index.write(json.dumps({"scenario": scenario, "request_id": request_id, "leg": name, "direction": direction,
                                "signer": signer, "sha256": digest, "length": len(data)}) + "\n")
        index.flush()

    def answer_signer(data):
        return "DSP" if data and b"Signature" in data else None

    def attach(exchange):
        original(exchange)
        scenario = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        rid = str(exchange.request_id)
        legs = exchange.legs if len(exchange.legs) > 1 else ()
        if legs:
            for n, one in enumerate(legs):
                to = "request" if n == 0 else "signed-pre-command"
                leg(scenario, str(one.request_id), to, "to-target", exchange.sender, one.request)
                back = "transform" if n < len(legs) - 1 else "acknowledgement"
                leg(scenario, str(one.request_id), back, "from-target", answer_signer(one.answer), one.answer)
        else:
            leg(scenario, rid, "request", "to-target", exchange.sender, exchange.request_xml)
            if exchange.ack is not None:
                leg(scenario, rid, "acknowledgement", "from-target", answer_signer(exchange.ack.xml), exchange.ack.xml)
        if exchange.outcome is not None:
            leg(scenario, rid, "outcome", "from-target", "DSP", exchange.outcome.xml)

    scenario_state.attach = attach
