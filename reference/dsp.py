"""The DSP: the DCC's front door. Applies SPEC §4 in order (rules.DSP_CHECKS), answers
synchronously with a signed acknowledgement (I99) or E code, and sends accepted SMETS1 requests to
the device's S1SP (SMETS2 requests to the device), whose final outcome arrives later."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from duis import codec, errors

from . import codes, rules


@dataclass(frozen=True)
class Verdict:
    """The DSP's synchronous answer."""
    http_status: int
    response: bytes          # signed DUIS Response
    code: str                # the SPEC code (on the wire: ReferenceDCC.emit_code of it)
    reason: str | None
    accepted: "rules.Context | None" = None   # set when I99: what to route on


class DSP:
    def __init__(self, dcc) -> None:
        self.dcc = dcc

    def handle(self, xml: bytes) -> Verdict:
        try:
            request = codec.decode_request(xml)
        except errors.UnsupportedServiceRequest as exc:
            return self._answer(400, None, codes.E1, f"unsupported Service Request: {exc}", srv=None)
        except errors.DuisError as exc:
            return self._answer(400, None, codes.E1, f"{type(exc).__name__}: {exc}", srv=None)
        dcc = self.dcc
        ctx = rules.Context(request=request, xml=xml, config=dcc.config,
                            sender=dcc.users.get(request.request_id.originator),
                            trust_anchors=dcc.users.trust_anchors)
        for name in rules.DSP_CHECKS:
            if name == "dsp.device_exists":
                ctx.device = dcc.inventory.get(request.request_id.target)
            if name == "dsp.registration_data":
                ctx.registration = dcc.registrations.get(ctx.device.mpxn)
            rejection = rules.run_check(name, ctx)
            if rejection:
                return self._answer(200, request, rejection.code, f"{rejection.rule}: {rejection.reason}")
        return self._answer(200, request, codes.I99, None, accepted=ctx)

    def _answer(self, status, request, code, reason, *, srv="", accepted=None) -> Verdict:
        now = datetime.now(timezone.utc)
        if request is None:   # unreadable input: HTTP 400 with a Response that says why
            xml = codec.encode_refusal(code, reason, now)
        else:
            xml = codec.encode_acknowledgement(request.request_id, code, request.srv, now, reason=reason)
        return Verdict(status, self.dcc.sign_response(xml), code, reason, accepted)
