"""LocalTarget: the reference DCC in-process. Same wire format as over HTTP (signed DUIS XML in,
signed DUIS XML out); only the socket is missing."""
from __future__ import annotations

from importlib.metadata import version

from cryptography import x509

from duis import codec, errors

import httpsig as message_signatures
from .datafix import DatafixReport
from .fixtures import Fixture
from .target import Acknowledgement, Capability, Outcome, TargetFault, TargetState


class LocalTarget:
    name = "local"
    capabilities = frozenset({Capability.PROVISION, Capability.SWITCHES, Capability.RESET, Capability.DATAFIX})

    def __init__(self, dcc=None, *, config=None) -> None:
        from reference.dcc import ReferenceDCC
        self.dcc = dcc or ReferenceDCC(config)
        self._owned = dcc is None
        self._interface = None          # the reference's HTTP app over this DCC, in-process (Target Interface v1.1)
        self._keys: dict[str, object] = {}

    # --- the seam ---------------------------------------------------------------------------

    def submit(self, request_id: str, signed_request: bytes) -> Acknowledgement:
        verdict = self.dcc.handle_service_request(signed_request)
        try:
            decode = codec.decode_refusal if verdict.http_status == 400 else codec.decode_response
            response = decode(verdict.response, verify_with=self.dcc.dsp_certificate)
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: the reference's acknowledgement is unusable: {exc}") from exc
        return Acknowledgement(request_id, verdict.http_status, verdict.response, response, response.reason)

    def await_outcome(self, request_id: str, timeout: float) -> Outcome:
        xml = self.dcc.outbox.wait(request_id, timeout)
        if xml is None:
            raise TargetFault(f"{request_id}: no final outcome from the in-process reference within {timeout:g} s")
        try:
            response = codec.decode_response(xml, verify_with=self.dcc.dsp_certificate)
        except errors.DuisError as exc:
            raise TargetFault(f"{request_id}: the reference's final outcome is unusable: {exc}") from exc
        return Outcome(request_id, xml, response)

    def describe(self) -> dict:
        return {"target": "local (reference DCC in-process)", "reference": version("mp107-harness"),
                **{k: v for k, v in self.dcc.state().items()}}

    # --- capabilities -------------------------------------------------------------------------

    def provision(self, fixture: Fixture) -> None:
        from reference.inventory import Device
        from reference.registration import Registration
        for der in fixture.trust_anchors_der:
            self.dcc.load_trust_anchor(x509.load_der_x509_certificate(der))
        for user in fixture.users:
            self.dcc.load_user(user.user_id, user.roles, x509.load_der_x509_certificate(user.xml_signing_cert_der))
        for d in fixture.devices:
            self.dcc.load_device(Device(d.device_id, d.device_type, d.smets, d.mpxn, d.status, d.cohort))
        for r in fixture.registrations:
            self.dcc.load_registration(Registration(r.mpxn, r.fuel, r.supplier_id, r.network_operator_id))
        for s in fixture.slots:
            self.dcc.load_anchor_slot(s.device_id, s.remote_party_role, s.digital_signing_der, s.key_agreement_der)
        for n in fixture.no_certificates:
            self.dcc.load_no_certificate(n.entity_id, n.usage, n.certificate_der)

    def run_datafix(self, s1sp: str, *, dry_run: bool = False):
        """Run the data fix on `s1sp`'s own database: (report, IDs of the devices it changed)."""
        report, fixed = self.dcc.run_datafix(s1sp, dry_run=dry_run)
        return DatafixReport.from_dict(report.to_dict()), fixed

    def cohort_of(self, s1sp: str) -> str:
        for cohort, name in self.dcc.config.cohorts.items():
            if name == s1sp:
                return cohort
        raise KeyError(f"no cohort is served by {s1sp}")

    def set_switch(self, on: bool) -> None:
        self.dcc.set_switch(on)

    def set_s1sp_implemented(self, s1sp: str, implemented: bool) -> None:
        self.dcc.set_s1sp_implemented(s1sp, implemented)

    def state(self) -> TargetState:
        s = self.dcc.state()
        return TargetState(s["mp107_switch"], s["s1sp_implemented"])

    def reset(self) -> None:
        self.dcc.reset()

    # --- Target Interface v1.1, in-process (MP107-R4.4; steps/interface.py) ------------------

    base_url = "http://dcc.in-process"
    callback_url = "http://127.0.0.1:9/mp107-in-process"
    """a callback URL the in-process app accepts (127.0.0.1 is allowed, as for `pytest --target serve`);
    nothing is POSTed to it: the in-process app delivers nowhere, outcomes are awaited from the outbox"""
    callback_refusal = None

    def _app(self):
        if self._interface is None:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from starlette.testclient import TestClient
            from reference.server import auth, create_app
            app = create_app(self.dcc, test_support=False, delivery=_NoDelivery(),
                             interface=auth.Policy(callback_allow=("127.0.0.1",)))
            self._interface = TestClient(app, base_url=self.base_url)
            self._interface.__enter__()
        return self._interface

    def register_signer(self, user_id: str, signer) -> None:
        self._keys[user_id] = getattr(signer, "key", signer)

    def signs_for(self, user_id: str) -> bool:
        return user_id in self._keys

    def interface_call(self, method: str, path: str, *, user_id: str | None, body=None, sign: bool = True,
                       rid: str | None = None):
        """One v1.1 call through the reference's own HTTP app (Starlette, in-process), signed as
        HttpTarget signs it. The answer has `status_code` and `content`."""
        import json
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        key = self._keys.get(user_id) if sign and user_id else None
        if key is not None:
            headers.update(message_signatures.signature_headers(method, self.base_url + path, key=key,
                                                                key_id=user_id, body=data))
        return self._app().request(method, path, content=data, headers=headers)

    def ensure_callback(self, user_id: str) -> str:
        from urllib.parse import quote
        answer = self.interface_call("PUT", f"/api/v1/users/{quote(user_id)}/callback", user_id=user_id,
                                     body={"url": self.callback_url})
        return "registered" if answer.status_code < 300 else f"HTTP {answer.status_code}: {answer.text[:120]}"

    def forget_callback(self, user_id: str) -> None:
        pass                            # the in-process harness awaits outcomes from the outbox, never by callback

    def close(self) -> None:
        if self._interface is not None:
            self._interface.__exit__(None, None, None)
            self._interface = None
        if self._owned:
            self.dcc.close()


class _NoDelivery:
    """The in-process app's callback delivery: none (the harness reads the outbox)."""
    stats = {"delivered": 0, "failed": 0}

    def deliver(self, url: str, request_id: str, response_xml: bytes) -> None:
        pass

    def close(self) -> None:
        pass
