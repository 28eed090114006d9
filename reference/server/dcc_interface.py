"""The DCC's own interface over HTTP, as DCC Boxed exposes it (`python -m reference serve --interface
dcc`; SPEC §5 "The DCC interface dialect"). In place of Target Interface v1's serviceRequest:

    POST /api/v1/serviceT   Transform Service: a Critical request (6.15.1) with Command Variant 4.
                            Answer (HTTP 200, application/xml, signed by the DSP): I0 with
                            Body/ResponseMessage/PreCommand (GBCSVersion, GBCSPayload), or an E code.
    POST /api/v1/serviceS   Send Command Service: the user's Signed Pre-Command (Command Variant 5,
                            Body/SignedPreCommand/GBCSPayload, the same RequestID as the transform
                            request), or a device request with Command Variant 1-3 (6.21, 6.24.1).
                            Answer: I99 (accepted and sent on) or an E code.
    POST /api/v1/serviceD   Non-Device Service: the reference offers none (E13 for a device request).

What each checks is reference/critical.py. Bodies are read as serviceRequest reads them (the same
size limit and oversize answer; unreadable input is HTTP 400 with a signed refusal).

Asynchronous answers (the final outcome of an accepted request) go to the user's response endpoint.
A real DCC has it configured for each user by the DCC; the reference configures it the Target
Interface v1.1 way: the user registers it with PUT /api/v1/users/{UserID}/callback (signed, RFC
9421), and outcomes stay readable at GET /api/v1/responses/{RequestID}. Both are served in either
dialect (reference/server/app.py).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

TRANSFORM = "/api/v1/serviceT"
SEND_COMMAND = "/api/v1/serviceS"
NON_DEVICE = "/api/v1/serviceD"
DIALECTS = ("v1", "dcc")
"""`python -m reference serve --interface`: Target Interface v1 (serviceRequest), or the DCC's own."""


def routes(service) -> list[Route]:
    """The three endpoints, on `service` (reference/server/app.py's _Service): its body reading and
    its DCC's CriticalFlow (`service.dcc.critical`)."""
    flow = service.dcc.critical

    async def transform(request: Request):
        return await service.service_request(request, handle=flow.transform)

    async def send_command(request: Request):
        return await service.service_request(request, handle=flow.send_command)

    async def non_device(request: Request):
        return await service.service_request(request, handle=flow.non_device)

    return [Route(TRANSFORM, transform, methods=["POST"]),
            Route(SEND_COMMAND, send_command, methods=["POST"]),
            Route(NON_DEVICE, non_device, methods=["POST"])]
