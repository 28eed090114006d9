"""`python -m reference serve --outcome-delay SECONDS`: a reference as slow as a real DCC between the
acknowledgement and the final outcome (SPEC §5 "Latency"), without holding up other requests.

No timing thresholds here: with a delay far longer than the test, the outcome is provably not there
after the acknowledgement, and a second request (to another S1SP and to the same one) is still
acknowledged at once; with a short delay the outcome does come."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from adapters.world import Cast, new_device
from reference.config import ReferenceConfig
from reference.dcc import ReferenceDCC
from reference.server import create_app
from reference.server import cli as server_cli

from test_http_server import load_body, retrieve


@pytest.fixture(scope="module")
def cast():
    return Cast()


def _ack(http, xml: bytes) -> str:
    from duis import codec
    answer = http.post("/api/v1/serviceRequest", content=xml, headers={"Content-Type": "application/xml"})
    assert answer.status_code == 200
    return codec.decode_response(answer.content).response_code


def test_a_long_delay_withholds_the_outcome_but_not_the_next_acknowledgement(cast):
    dcc = ReferenceDCC(ReferenceConfig(outcome_delay=600.0))
    devices = [new_device(cast, fuel="electricity", smets=1, s1sp=s1sp, cohort=cohort)
               for s1sp, cohort in (("S1SP1", "IOC"), ("S1SP1", "IOC"), ("S1SP2", "MOC"))]
    try:
        with TestClient(create_app(dcc, test_support=True)) as http:
            assert http.post("/test-support/v1/load", json=load_body(cast, *devices)).status_code == 200
            rids = []
            for setup in devices:
                rid, xml = retrieve(cast, setup)
                assert _ack(http, xml) == "I99"       # each acknowledged: nothing waits for an earlier outcome
                rids.append(rid)
            for rid in rids:
                assert dcc.outbox.wait(rid, 0.2) is None
                assert http.get(f"/api/v1/responses/{rid}").status_code == 404
            assert dcc.pending_outcomes() == 3
    finally:
        dcc.close()
    assert dcc.pending_outcomes() == 0          # closing forgets what was still to come


def test_a_short_delay_delivers_the_outcome(cast):
    dcc = ReferenceDCC(ReferenceConfig(outcome_delay=0.05))
    setup = new_device(cast, fuel="gas", smets=1, s1sp="S1SP3", cohort="FOC")
    try:
        with TestClient(create_app(dcc, test_support=True)) as http:
            assert http.post("/test-support/v1/load", json=load_body(cast, setup)).status_code == 200
            rid, xml = retrieve(cast, setup)
            assert _ack(http, xml) == "I99"
            assert dcc.outbox.wait(rid, 30) is not None
            assert http.get(f"/api/v1/responses/{rid}").status_code == 200
    finally:
        dcc.close()


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_serve_refuses_a_senseless_delay(value):
    with pytest.raises(ValueError, match="--outcome-delay"):
        server_cli.parse(["--outcome-delay", value])


def test_serve_takes_the_delay():
    assert server_cli.parse(["--outcome-delay", "1.5"]).outcome_delay == 1.5
    assert server_cli.parse([]).outcome_delay == 0.0
