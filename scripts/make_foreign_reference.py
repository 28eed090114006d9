#!/usr/bin/env python3
"""Generate the "foreign reference": a pre-provisioned world for the served reference DCC, and the
harness's profile for it, so that the reference can be judged the way an independent DCC is
(no test support, no switches, its own code table, 413 without a body, no callback registration,
the Requirement 2 data fix already applied by its operator).

    .venv/bin/python scripts/make_foreign_reference.py            # writes the files below
    .venv/bin/python scripts/make_foreign_reference.py --force    # replace them

Writes, into profiles/foreign-reference/:

    load.json      the `python -m reference serve --load` body: users, the issuing CA as trust
                   anchor, the NO certificate repository, devices, registrations, anchor slots
    codes.json     the `--code-table`: SPEC code -> the target's own code
    serve.sh       the exact command that serves this world on 127.0.0.1:8801
    README.md      what is here (and that every key is a throw-away test key)
    users/         per user: XML-signing key + certificate; suppliers and network operators also
                   their Organisation certificates (digital signing, key agreement)
    smki/          the issuing and root CA certificates (the certification path)
    dsp/           the DSP's response-signing key + certificate

and profiles/foreign-reference.toml, the harness's profile (docs/targets.md) with its conformance
statement. The structure (User IDs, device IDs, MPxNs, file names) is the same on every run; the
keys are new each time. Certificates are valid until the end of 2049.
"""
from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.world import FUELS, PARTIES, ROLELESS_PARTIES, SMETS1_DEVICE_TYPE, role_for  # noqa: E402
from duis.types import mpan_with_check_digit  # noqa: E402
from reference.config import DEFAULT_COHORTS, S1SPS  # noqa: E402
from reference.dcc import DSP_USER_ID  # noqa: E402
from smki import TestSMKI  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "profiles" / "foreign-reference"
PROFILE = ROOT / "profiles" / "foreign-reference.toml"
PORT = 8801
NOT_AFTER = datetime(2049, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
"""Last instant UTCTime can express; over 20 years from now, so the shipped files keep working."""

SMETS1_PER_FUEL = 12          # commissioned SMETS1 devices per S1SP and fuel ...
SMETS1_PER_FUEL_MOST = {("S1SP1", "electricity"): 32}
"""... and where the suite needs most: the R1.8 and MP107-R4 scenarios all use S1SP1's ESME (a run uses a
device once; the postamble restores it for the next run)"""
SMETS2_PER_FUEL = 6
DATAFIX_FIXED_PER_FUEL = 2    # per S1SP and fuel: NetworkOperator slot holds the WRONG NO's certificates
DATAFIX_CONTROL_PER_FUEL = 2  # per S1SP and fuel: correct devices the data fix must leave alone
SMETS2_DEVICE_TYPE = {"electricity": "ESME", "gas": "GPF"}   # as the harness's SMETS2 scenarios ask

CODE_TABLE = {   # ResponseCodes stay within DUIS Schema V5.4's enumeration; S1SPAlertCode is free text
    "E3": "E13", "E19": "E20", "S1VE4": "S1VE004", "S1VE64": "S1VE064",
}
"""SPEC code -> the foreign target's own (zero-padded, as some DCC builds print them)."""

# Device IDs: 00-DB-F0-<S1SP n, 00 for SMETS2>-<fuel n>-<kind>-00-<n>
KIND = {"commissioned": 0x01, "datafix-fixed": 0x02, "datafix-control": 0x03, "decommissioned": 0x04,
        "comms-hub": 0x05, "smets2": 0x06}


def user_ids() -> list[tuple[str, str | None, str, str]]:
    """(User ID, fuel, party label, role) for every party of the harness's cast (adapters/world.py
    Cast: the same User IDs)."""
    out = []
    for fuel_index, fuel in enumerate(FUELS):
        for label, (_, suffix) in PARTIES.items():
            out.append((f"90-B3-D5-1F-30-0{fuel_index + 1}-00-{suffix:02X}", fuel, label, role_for(label, fuel)))
    for label, (role, suffix) in ROLELESS_PARTIES.items():
        out.append((f"90-B3-D5-1F-30-03-00-{suffix:02X}", None, label, role))
    return out


def compact(eui: str) -> str:
    return eui.replace("-", "")


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


class World:
    def __init__(self) -> None:
        self.smki = TestSMKI.generate(name="ZF", not_after=NOT_AFTER)
        self.users = []          # dicts: user_id, fuel, label, role, xml (Credential), org (pair of Credential) | None
        for user_id, fuel, label, role in user_ids():
            xml = self.smki.issue_xml_signing(user_id, not_after=NOT_AFTER)
            org = None
            if label in PARTIES:     # suppliers and network operators; not the export supplier, not the other user
                remote = "Supplier" if PARTIES[label][0] == "supplier" else "NetworkOperator"
                o = self.smki.issue_organisation(user_id, remote, not_after=NOT_AFTER)
                org = (o.digital_signing, o.key_agreement)
            self.users.append({"user_id": user_id, "fuel": fuel, "label": label, "role": role, "xml": xml, "org": org})
        self.dsp = self.smki.issue_xml_signing(DSP_USER_ID, role_code="89", not_after=NOT_AFTER)
        self.devices: list[dict] = []
        self.fixed: list[str] = []
        self.control: list[str] = []
        self._seq = 0
        self._build_devices()

    def party(self, label: str, fuel: str) -> dict:
        return next(u for u in self.users if u["label"] == label and u["fuel"] == fuel)

    def _mpxn(self, fuel: str) -> str:
        self._seq += 1
        if fuel == "electricity":
            return mpan_with_check_digit(f"19{self._seq:010d}")
        return f"74{self._seq:08d}"

    def _add(self, *, s1sp_n: int, fuel: str, kind: str, n: int, device_type: str, smets: int,
             s1sp: str | None, status: str = "Commissioned", wrong_no: bool = False) -> str:
        fuel_n = FUELS.index(fuel) + 1
        device_id = f"00-DB-F0-{s1sp_n:02X}-{fuel_n:02X}-{KIND[kind]:02X}-00-{n:02X}"
        self.devices.append({"device_id": device_id, "device_type": device_type, "smets": smets, "s1sp": s1sp,
                             "mpxn": self._mpxn(fuel), "status": status, "fuel": fuel, "kind": kind,
                             "supplier": self.party("registered supplier", fuel),
                             "operator": self.party("registered network operator", fuel),
                             "in_slot": self.party("wrong network operator" if wrong_no else
                                                   "registered network operator", fuel)})
        return device_id

    def _build_devices(self) -> None:
        for s1sp_n, s1sp in enumerate(S1SPS, start=1):
            for fuel in FUELS:
                kw = dict(s1sp_n=s1sp_n, fuel=fuel, device_type=SMETS1_DEVICE_TYPE[fuel], smets=1, s1sp=s1sp)
                for n in range(1, SMETS1_PER_FUEL_MOST.get((s1sp, fuel), SMETS1_PER_FUEL) + 1):
                    self._add(kind="commissioned", n=n, **kw)
                for n in range(1, DATAFIX_FIXED_PER_FUEL + 1):
                    self.fixed.append(self._add(kind="datafix-fixed", n=n, wrong_no=True, **kw))
                for n in range(1, DATAFIX_CONTROL_PER_FUEL + 1):
                    self.control.append(self._add(kind="datafix-control", n=n, **kw))
            self._add(s1sp_n=s1sp_n, fuel="electricity", kind="decommissioned", n=1, device_type="ESME", smets=1,
                      s1sp=s1sp, status="Decommissioned")
            self._add(s1sp_n=s1sp_n, fuel="electricity", kind="comms-hub", n=1, device_type="CHF", smets=1, s1sp=s1sp)
        for fuel in FUELS:
            for n in range(1, SMETS2_PER_FUEL + 1):
                self._add(s1sp_n=0, fuel=fuel, kind="smets2", n=n, device_type=SMETS2_DEVICE_TYPE[fuel], smets=2,
                          s1sp=None)

    # --- files ---------------------------------------------------------------------------------

    def user_files(self, user: dict) -> dict[str, str]:
        stem = f"users/{compact(user['user_id'])}"
        files = {"key": f"{stem}-xml-sign.key.pem", "certificate": f"{stem}-xml-sign.pem"}
        if user["org"] is not None:
            files["digital_signing"] = f"{stem}-org-ds.pem"
            files["key_agreement"] = f"{stem}-org-ka.pem"
        return files

    def load_body(self) -> dict:
        operators = [u for u in self.users if u["label"].endswith("network operator")]
        return {
            "users": [{"user_id": u["user_id"], "roles": [u["role"]], "xml_signing_certificate": b64(u["xml"].cert_der())}
                      for u in self.users],
            "trust_anchors": [{"certificate": b64(self.smki.issuing.cert_der())}],
            "no_certificates": [{"entity_id": u["user_id"], "usage": usage, "certificate": b64(cred.cert_der())}
                                for u in operators for usage, cred in zip(("DigitalSigning", "KeyAgreement"), u["org"])],
            "devices": [{"device_id": d["device_id"], "device_type": d["device_type"], "smets": d["smets"],
                         "mpxn": d["mpxn"], "status": d["status"], **({"s1sp": d["s1sp"]} if d["s1sp"] else {})}
                        for d in self.devices],
            "registrations": [{"mpxn": d["mpxn"], "fuel": d["fuel"], "supplier_id": d["supplier"]["user_id"],
                               "network_operator_id": d["operator"]["user_id"]} for d in self.devices],
            "anchor_slots": [{"device_id": d["device_id"], "remote_party_role": role,
                              "digital_signing_certificate": b64(holder["org"][0].cert_der()),
                              "key_agreement_certificate": b64(holder["org"][1].cert_der())}
                             for d in self.devices
                             for role, holder in (("Supplier", d["supplier"]), ("NetworkOperator", d["in_slot"]))],
        }

    def write(self, out: Path) -> None:
        for sub in ("users", "smki", "dsp"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        for u in self.users:
            files = self.user_files(u)
            (out / files["key"]).write_bytes(u["xml"].key_pem())
            (out / files["certificate"]).write_bytes(u["xml"].cert_pem())
            if u["org"] is not None:
                (out / files["digital_signing"]).write_bytes(u["org"][0].cert_pem())
                (out / files["key_agreement"]).write_bytes(u["org"][1].cert_pem())
        (out / "smki" / "issuing-ca.pem").write_bytes(self.smki.issuing.cert_pem())
        (out / "smki" / "root-ca.pem").write_bytes(self.smki.root.cert_pem())
        (out / "dsp" / "dsp-xml-sign.key.pem").write_bytes(self.dsp.key_pem())
        (out / "dsp" / "dsp-xml-sign.pem").write_bytes(self.dsp.cert_pem())
        (out / "load.json").write_text(json.dumps(self.load_body(), indent=1) + "\n", encoding="utf-8")
        (out / "codes.json").write_text(json.dumps(CODE_TABLE, indent=2) + "\n", encoding="utf-8")
        serve = out / "serve.sh"
        serve.write_text(serve_script(out), encoding="utf-8")
        serve.chmod(0o755)
        (out / "README.md").write_text(readme(self), encoding="utf-8")


def serve_args(out: Path) -> list[str]:
    """The options of `python -m reference serve` that serve this world (paths from the repository root)."""
    r = lambda name: (out / name).relative_to(ROOT).as_posix()  # noqa: E731
    return ["--port", str(PORT), "--load", r("load.json"),
            "--dsp-key", r("dsp/dsp-xml-sign.key.pem"), "--dsp-certificate", r("dsp/dsp-xml-sign.pem"),
            "--oversize", "413-empty", "--max-request-bytes", "1048576", "--callbacks", "501",
            "--code-table", r("codes.json"), "--run-datafix-at-start"]


def serve_command(out: Path) -> str:
    return "python -m reference serve " + " ".join(serve_args(out))


def serve_script(out: Path) -> str:
    up = "/".join([".."] * len(out.relative_to(ROOT).parts))
    args = " \\\n    ".join(" ".join(pair) for pair in _pairs(serve_args(out)))
    return f"""#!/bin/sh
# Serve the foreign-reference world on http://127.0.0.1:{PORT} (profiles/foreign-reference.toml).
# No --test-support: the harness must judge it from its profile, as it would a DCC it did not write.
# Extra options are passed on (e.g. --access-log). Generated by scripts/make_foreign_reference.py.
set -e
cd "$(dirname "$0")/{up}"
PYTHON="${{PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}}"
exec "$PYTHON" -m reference serve \\
    {args} \\
    "$@"
"""


def _pairs(args: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for a in args:
        if a.startswith("--"):
            out.append([a])
        else:
            out[-1].append(a)
    return out


def readme(world: World) -> str:
    n_dev = len(world.devices)
    return f"""# The foreign reference

A pre-provisioned world for the reference DCC served as a *foreign target*: how an independent DCC
implementation looks to the harness. No test support, no switches; a fixed DSP signing key its
profile names; and deviations seen in the field: HTTP 413 with no body for a request over 1 MiB,
no callback registration (HTTP 501; outcomes are polled), its own code table (`codes.json`:
E19 is sent as E20, S1VE64 as S1VE064, ...), and the Requirement 2 data fix already run by its
operator at start. The harness's profile for it is `../foreign-reference.toml`.

Serve it (from the repository root, or run `serve.sh` from anywhere):

    {serve_command(OUT_DIR)}

**Every key here is a throw-away test key**, generated by `scripts/make_foreign_reference.py` from
a test SMKI made for this purpose (issuing CA `ZF1`, root `ZFA`); the CA keys were not kept. They
protect nothing and must never be trusted outside tests. Certificates are valid until 2049-12-31.

| file | what |
| --- | --- |
| `load.json` | the `--load` body: {len(world.users)} users, the issuing CA as trust anchor, the NO certificate repository, {n_dev} devices with registrations and anchor slots |
| `codes.json` | the `--code-table`: SPEC code -> this target's code |
| `serve.sh` | the command above |
| `users/<UserID>-xml-sign.key.pem`, `-xml-sign.pem` | each user's XML-signing key and certificate |
| `users/<UserID>-org-ds.pem`, `-org-ka.pem` | Organisation certificates (suppliers and network operators only) |
| `smki/issuing-ca.pem`, `smki/root-ca.pem` | the certification path above the Organisation certificates |
| `dsp/dsp-xml-sign.key.pem`, `dsp/dsp-xml-sign.pem` | the DSP's response-signing key and certificate |

Devices (IDs `00-DB-F0-<S1SP>-<fuel>-<kind>-00-<n>`; fuel 01 electricity, 02 gas; S1SP 00 for SMETS2):
per S1SP and fuel {SMETS1_PER_FUEL} commissioned SMETS1 devices (kind 01; ESME or GPF),
{DATAFIX_FIXED_PER_FUEL} whose NetworkOperator slot held the wrong network operator's certificates until the
data fix at start corrected them (kind 02), {DATAFIX_CONTROL_PER_FUEL} correct control devices for the data fix
(kind 03); per S1SP one Decommissioned ESME (kind 04) and one commissioned comms hub CHF (kind 05,
electricity); per fuel {SMETS2_PER_FUEL} SMETS2 devices (kind 06; ESME or GSME). Every device's Supplier
slot holds the registered supplier's Organisation certificates and its NetworkOperator slot the
registered network operator's (after the data fix).

Regenerate (new keys, same structure): `.venv/bin/python scripts/make_foreign_reference.py --force`.
"""


def toml_str(value: str) -> str:
    return json.dumps(value)      # a TOML basic string is a JSON string for this text


def toml_list(values: list[str], indent: str = "  ") -> str:
    if not values:
        return "[]"
    return "[\n" + "".join(f"{indent}{toml_str(v)},\n" for v in values) + "]"


def profile_text(world: World, out: Path) -> str:
    d = out.relative_to(PROFILE.parent).as_posix()
    lines = [
        "# Target profile: the reference DCC served as a FOREIGN target -- pre-provisioned, no test support,",
        "# no switches, and with deviations seen in the field (413 with no body, no callback registration,",
        "# its own code table, the data fix already applied). It shows the harness judging a target it did",
        "# not set up. Generated by scripts/make_foreign_reference.py (throw-away test keys); serve it with",
        f"#   {out.relative_to(ROOT).as_posix()}/serve.sh      or, from the repository root,",
        f"#   {serve_command(out)}",
        "# The format, key by key: docs/targets.md.",
        "",
        "[target]",
        'name = "reference DCC (served as a foreign target)"',
        f'base_url = "http://127.0.0.1:{PORT}"',
        f'dsp_certificate = "{d}/dsp/dsp-xml-sign.pem"',
        "",
        "[capabilities]",
        "test_support = false",
        "switches = false",
        "datafix = false",
        "",
        "[timeouts]                              # seconds",
        "connect = 3",
        "read = 30",
        "outcome = 10",
        "",
        "[callbacks]",
        'mode = "push"                           # the target answers 501 to registration: the harness must find out and poll',
        'listen = "127.0.0.1:0"',
        "poll_after = 1.0",
        "poll_interval = 0.05                    # loopback: poll often",
        "",
        "[codes]                                 # the target's code = the SPEC's (codes.json, inverted)",
        *[f"{toml_str(own)} = {toml_str(spec)}" for spec, own in CODE_TABLE.items()],
        "",
        "[smki]",
        f'certification_path = ["{d}/smki/issuing-ca.pem", "{d}/smki/root-ca.pem"]',
        "",
        "[cohorts]",
        *[f'{cohort} = "{s1sp}"' for cohort, s1sp in DEFAULT_COHORTS.items()],
        "",
        "[statement]",
        "# What the implementation is and how it is set (ISO/IEC 9646 ICS/IXIT). Test selection follows from it.",
        'feature_switch = "on"          # "on" | "off" as deployed; "settable" only with test support',
        'fuels = ["electricity", "gas"]',
        "smets2 = true                  # SMETS2 devices are present",
        'access_differences = []        # e.g. ["6.15.1: OU permitted"]; none here',
        "",
    ]
    for s1sp in S1SPS:
        lines += [f"[statement.s1sps.{s1sp}]",
                  "implements_mp107 = true        # true | false | \"settable\"",
                  "in_scope = true",
                  ""]
    lines += [
        "[statement.datafix]",
        "applied = true                 # the operator has applied the Requirement 2 data fix",
        "runnable = false               # the harness can run it (test support)",
        f"fixed_devices = {toml_list(world.fixed)}",
        f"control_devices = {toml_list(world.control)}",
        "",
        "[statement.capabilities]",
        "test_support = false",
        "callback_registration = false  # what the operator declares; the harness still probes",
        "",
    ]
    for u in world.users:
        files = world.user_files(u)
        play = (f'{{ party = {toml_str(u["label"])}, fuel = {toml_str(u["fuel"])} }}' if u["fuel"]
                else f'{{ party = {toml_str(u["label"])} }}')
        lines += ["[[users]]",
                  f'user_id = "{u["user_id"]}"',
                  f'roles = ["{u["role"]}"]',
                  f"plays = [{play}]",
                  f'key = "{d}/{files["key"]}"',
                  f'certificate = "{d}/{files["certificate"]}"']
        if u["org"] is not None:
            lines.append(f'organisation = {{ digital_signing = "{d}/{files["digital_signing"]}", '
                         f'key_agreement = "{d}/{files["key_agreement"]}" }}')
        lines.append("")
    for dev in world.devices:
        lines += ["[[devices]]",
                  f'device_id = "{dev["device_id"]}"',
                  f'type = "{dev["device_type"]}"',
                  f'smets = {dev["smets"]}']
        if dev["s1sp"]:
            lines.append(f's1sp = "{dev["s1sp"]}"')
        lines += [f'mpxn = "{dev["mpxn"]}"',
                  f'status = "{dev["status"]}"',
                  f'registered_supplier = "{dev["supplier"]["user_id"]}"',
                  f'registered_network_operator = "{dev["operator"]["user_id"]}"']
        if dev["kind"] != "commissioned":
            lines[-1] += f"   # {dev['kind']}"
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true",
                        help=f"replace an existing {OUT_DIR.relative_to(ROOT)}/ and {PROFILE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    existing = [p for p in (OUT_DIR, PROFILE) if p.exists()]
    if existing and not args.force:
        print(f"make_foreign_reference: {', '.join(str(p.relative_to(ROOT)) for p in existing)} already "
              "exist(s); give --force to replace (new keys: every profile naming them must be re-run)",
              file=sys.stderr)
        return 2
    world = World()
    if OUT_DIR.exists():
        for sub in ("users", "smki", "dsp"):
            shutil.rmtree(OUT_DIR / sub, ignore_errors=True)
    world.write(OUT_DIR)
    PROFILE.write_text(profile_text(world, OUT_DIR), encoding="utf-8")
    for path in sorted([*OUT_DIR.rglob("*"), PROFILE]):
        if path.is_file():
            print(f"{path.stat().st_size:>9,}  {path.relative_to(ROOT)}")
    print(f"{len(world.users)} users, {len(world.devices)} devices ({len(world.fixed)} for the data fix to fix, "
          f"{len(world.control)} control); serve with: {serve_command(OUT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
