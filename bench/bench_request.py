"""One signed SRV 6.15.1 through the harness's own request path, split by cost, against the bare
libraries and the cryptographic floor measured in the same run.

The reference is served as a subprocess (`adapters.reference_host.ServedReference`, as `--target
serve`), so everything measured in this process is the harness's side. The harness is driven as the
suite drives it: `HttpTarget` with profiles/reference.toml (outcomes pushed to the callback receiver),
the cast's registered network operator sending `Client.send` a 6.15.1 that puts its own certificates
back in the NetworkOperator slot of a SMETS1 ESME (I99 then I0), one request at a time, then judging
the codes.

Clock: CPU time. The harness's cost per request is the bench process's CPU (time.process_time, all
threads) over the requests; the split times the harness's own functions, wrapped at run time
(nothing in the project changes), per thread and exclusive of what they call, on the thread's CPU
clock (time.thread_time), which other processes on a busy machine do not inflate (wall times are
kept too, in the JSON):

- build:    adapters.service_requests + Client.build + duis.codec.encode_(signed_)request (minus
            its signing and validation)
- sign:     duis.signing.sign_element (what signs, whichever codec function calls it)
- validate: duis.schema.validate, every call (request, acknowledgement, outcome)
- parse:    duis.safexml.parse, every call
- verify:   duis.signing.verify, every call (acknowledgement, outcome)
- decide:   what is left of Client.send and codec.decode_response (mapping the answers, checks,
            bookkeeping) and the step's judgement of the codes
- send:     HttpTarget._call: the harness's HTTP client (its wall time also holds the served
            reference's work for the acknowledgement, which is not the harness's)
- receive:  the callback receiver's HTTP handling of the pushed outcome (its thread)
- await:    waiting for the pushed outcome
- other:    the process's CPU not in any of these (threads starting, the receiver's loop, GC)

The same documents, the same run, the same CPU clock, without any harness code:
- libraries: signxml `XMLSigner.sign` + lxml `XMLSchema` validation + signxml `XMLVerifier.verify` of
  the request document. Timed twice: interleaved with the requests (once after each request, so in the
  same cache state as the harness's own calls: the figure the target is judged on) and in a tight
  loop (hot caches: the smallest it gets);
- floor: one exclusive C14N of the signed request (lxml) + one ECDSA P-256/SHA-256 sign + one verify
  (cryptography), interleaved and in a loop;
- exchange: the irreducible library work of one exchange (sign and validate the request, verify and
  validate the acknowledgement and the outcome, once each), in a loop.
Target: harness CPU <= 3 x libraries (interleaved); the ratio to the floor is reported.
"""
from __future__ import annotations

import copy
import functools
import threading
import time
from collections import defaultdict

from common import Options, Outcome, Row, fmt_ms, median, process_cpu, say

NAME = "request"
TARGET_RATIO = 3.0
ORDER = ("build", "sign", "validate", "parse", "verify", "decide", "receive", "send", "await")
DS = "{http://www.w3.org/2000/09/xmldsig#}"


class Meter:
    """Exclusive time per category, per thread, of wrapped functions, on two clocks: wall
    (perf_counter) and the thread's own CPU (thread_time); calls counted."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._patches: list[tuple[object, str, object]] = []
        self.missing: list[str] = []
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.wall: dict[str, float] = defaultdict(float)
            self.cpu: dict[str, float] = defaultdict(float)
            self.calls: dict[str, int] = defaultdict(int)

    def _stack(self) -> list[list[float]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def timed(self, category: str, fn):
        meter = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            stack = meter._stack()
            stack.append([0.0, 0.0])
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                inner_wall, inner_cpu = stack.pop()
                if stack:
                    stack[-1][0] += wall
                    stack[-1][1] += cpu
                with meter._lock:
                    meter.wall[category] += wall - inner_wall
                    meter.cpu[category] += cpu - inner_cpu
                    meter.calls[category] += 1
        return wrapper

    def wrap(self, owner, attr: str, category: str) -> None:
        where = getattr(owner, "__name__", str(owner))
        original = (owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None))
        if original is None:         # the project moved it: the bench says so instead of failing
            if f"{where}.{attr}" not in self.missing:
                self.missing.append(f"{where}.{attr}")
            return
        self._patches.append((owner, attr, original))
        setattr(owner, attr, self.timed(category, original))

    def unwrap(self) -> None:
        for owner, attr, original in reversed(self._patches):
            setattr(owner, attr, original)
        self._patches.clear()


def _instrument(meter: Meter) -> None:
    from adapters import callbacks, client, http
    from duis import codec, safexml, schema, signing
    meter.wrap(codec, "encode_request", "build")
    meter.wrap(codec, "encode_signed_request", "build")
    meter.wrap(client.Client, "build", "build")
    meter.wrap(signing, "sign_element", "sign")       # under both signing.sign and codec.encode_signed_request
    meter.wrap(schema, "validate", "validate")
    meter.wrap(safexml, "parse", "parse")
    meter.wrap(signing, "verify", "verify")
    meter.wrap(codec, "decode_response", "decide")
    meter.wrap(client.Client, "send", "decide")
    meter.wrap(http.HttpTarget, "_call", "send")
    meter.wrap(callbacks.CallbackReceiver, "wait", "await")
    meter.wrap(callbacks.CallbackReceiver, "_handle", "receive")


class World:
    """A served reference, an HttpTarget on it as the suite makes one, the cast, three SMETS1 ESMEs."""

    def __init__(self) -> None:
        from adapters import profile as profiles
        from adapters.http import HttpTarget
        from adapters.reference_host import ServedReference
        from adapters.world import Cast, new_device
        self.served = ServedReference()
        base_url = self.served.start()
        try:
            self.target = HttpTarget(base_url, profiles.load(profiles.REFERENCE_PROFILE, base_url=base_url))
            self.cast = Cast()
            for party in self.cast.parties:
                self.target.register_signer(party.user_id, party.signer)
            self.target.provision(self.cast.fixture())
            self.devices = []
            for s1sp in ("S1SP1", "S1SP2", "S1SP3"):
                setup = new_device(self.cast, fuel="electricity", smets=1, s1sp=s1sp,
                                   cohort=self.target.cohort_of(s1sp))
                self.target.provision(setup.fixture)
                self.devices.append(setup.device.device_id)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        target = getattr(self, "target", None)
        if target is not None:
            target.close()
        self.served.close()


class Libraries:
    """The bare library calls on an exchange's documents, each timed on the thread's CPU clock."""

    def __init__(self, signer, dsp_cert) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from lxml import etree
        from signxml import (CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration,
                             SignatureConstructionMethod, SignatureMethod, XMLSigner, XMLVerifier)

        from duis import schema, signing
        self.etree, self.ec, self.hashes = etree, ec, hashes
        self.XMLSigner, self.XMLVerifier = XMLSigner, XMLVerifier
        self.sign_args = dict(method=SignatureConstructionMethod.enveloped, signature_algorithm=SignatureMethod.ECDSA_SHA256,
                              digest_algorithm=DigestAlgorithm.SHA256,
                              c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
        self.config = getattr(signing, "_VERIFY_CONFIG", None) or SignatureConfiguration(
            location="./", expect_references=1, default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0)
        self.compiled = schema.validator()._schema          # the lxml XMLSchema the harness compiled
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)
        self.key, self.cert, self.dsp_cert = signer.key, signer.cert, dsp_cert
        self.issuer, self.serial = signer.cert.issuer.rfc4514_string(), signer.cert.serial_number

    def documents(self, exchange) -> dict:
        """The exchange's documents, parsed (untimed): the request signed and unsigned, ack, outcome."""
        signed = self.etree.fromstring(exchange.request_xml, self.parser)
        unsigned = copy.deepcopy(signed)
        for sig in unsigned.findall(DS + "Signature"):
            unsigned.remove(sig)
        return {"signed": signed, "unsigned": unsigned, "ack": self.etree.fromstring(exchange.ack.xml, self.parser),
                "outcome": self.etree.fromstring(exchange.outcome.xml, self.parser)}

    def _key_info(self):
        etree = self.etree
        ki = etree.Element(DS + "KeyInfo", nsmap={"ds": DS[1:-1]})
        x = etree.SubElement(etree.SubElement(ki, DS + "X509Data"), DS + "X509IssuerSerial")
        etree.SubElement(x, DS + "X509IssuerName").text = self.issuer
        etree.SubElement(x, DS + "X509SerialNumber").text = str(self.serial)
        return ki

    def sign(self, docs) -> float:
        unsigned, key_info = copy.deepcopy(docs["unsigned"]), self._key_info()
        t = time.thread_time()
        self.XMLSigner(**self.sign_args).sign(unsigned, key=self.key, key_info=key_info)
        return time.thread_time() - t

    def validate(self, doc) -> float:
        t = time.thread_time()
        ok = self.compiled(doc)
        seconds = time.thread_time() - t
        if not ok:
            raise RuntimeError(f"libxml2 found the document invalid: {self.compiled.error_log}")
        return seconds

    def verify(self, doc, cert) -> float:
        t = time.thread_time()
        self.XMLVerifier().verify(doc, x509_cert=cert, expect_config=self.config)
        return time.thread_time() - t

    def floor(self, docs) -> float:
        signed, key, ecdsa = docs["signed"], self.key, self.ec.ECDSA(self.hashes.SHA256())
        public = key.public_key()
        t = time.thread_time()
        data = self.etree.tostring(signed, method="c14n", exclusive=True)
        signature = key.sign(data, ecdsa)
        public.verify(signature, data, ecdsa)
        return time.thread_time() - t

    def once(self, docs) -> dict:
        """sign + validate + verify of the request, and the floor, once each (interleaved with requests)."""
        parts = {"sign": self.sign(docs), "validate": self.validate(docs["signed"]),
                 "verify": self.verify(docs["signed"], self.cert), "floor": self.floor(docs)}
        parts["libraries"] = parts["sign"] + parts["validate"] + parts["verify"]
        return parts

    def loop(self, docs, repeat: int) -> dict:
        """Each call `repeat` times back to back (hot caches); medians."""
        def each(fn):
            return median(fn() for _ in range(repeat))
        parts = {
            "sign_request": each(lambda: self.sign(docs)),
            "validate_request": each(lambda: self.validate(docs["signed"])),
            "verify_request": each(lambda: self.verify(docs["signed"], self.cert)),
            "verify_ack": each(lambda: self.verify(docs["ack"], self.dsp_cert)),
            "validate_ack": each(lambda: self.validate(docs["ack"])),
            "verify_outcome": each(lambda: self.verify(docs["outcome"], self.dsp_cert)),
            "validate_outcome": each(lambda: self.validate(docs["outcome"])),
            "floor": each(lambda: self.floor(docs)),
        }
        parts["libraries"] = parts["sign_request"] + parts["validate_request"] + parts["verify_request"]
        parts["exchange"] = (parts["sign_request"] + parts["validate_request"] + parts["verify_ack"]
                             + parts["validate_ack"] + parts["verify_outcome"] + parts["validate_outcome"])
        return parts


def run(opts: Options) -> Outcome:
    from adapters import service_requests as srv
    from adapters.client import Client

    runs = opts.runs_or(5, 1)
    per_run = 10 if opts.quick else 60
    out = Outcome(NAME)
    say("request: serving the reference, provisioning the cast")
    world = World()
    meter = Meter()
    try:
        client = Client(world.target, outcome_timeout=10.0)
        sender = world.cast.party("registered network operator", "electricity")
        signer, pair, path = sender.signer, sender.certificate_pair(), world.cast.certification_path()
        libraries = Libraries(signer, world.target.dsp_certificate)
        build = meter.timed("build", lambda device: client.build(
            sender.user_id, device, "6.15.1", srv.update_security_credentials("NetworkOperator", pair, path)))

        def judge(exchange) -> None:
            if exchange.ack is None or exchange.ack.code != "I99" or exchange.outcome is None \
                    or exchange.outcome.code != "I0":
                raise RuntimeError(f"{exchange.request_id}: expected I99 then I0, got {exchange.final_code} "
                                   f"({exchange.ack.reason if exchange.ack else exchange.fault})")
        judge_timed = meter.timed("decide", judge)

        def one(i: int):
            exchange = client.send(signer, build(world.devices[i % len(world.devices)]), description="bench")
            judge_timed(exchange)
            return exchange

        for i in range(3):            # warm up: callback registration, compiled schema, connections
            last = one(i)
        results = []
        for r in range(runs):
            _instrument(meter)
            meter.reset()
            walls, cpus, inter = [], [], []
            server0 = process_cpu(world.served.process.pid)
            for i in range(per_run):
                c, t = time.process_time(), time.perf_counter()
                last = one(i)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
                inter.append(libraries.once(libraries.documents(last)))    # outside the request's window
            server_cpu = (process_cpu(world.served.process.pid) - server0) / per_run
            split_cpu = {k: v / per_run for k, v in meter.cpu.items()}
            split_wall = {k: v / per_run for k, v in meter.wall.items()}
            calls = {k: v / per_run for k, v in meter.calls.items()}
            meter.unwrap()
            cpu = sum(cpus) / per_run
            interleaved = {k: median(x[k] for x in inter) for k in inter[0]}
            hot = libraries.loop(libraries.documents(last), 5 if opts.quick else 30)
            results.append({"cpu": split_cpu, "wall": split_wall, "calls": calls, "request_wall": median(walls),
                            "process_cpu": cpu, "server_cpu": server_cpu, "interleaved": interleaved, "hot": hot})
            say(f"request run {r + 1}/{runs}: {per_run} x 6.15.1, wall {median(walls) * 1e3:.1f} ms, harness CPU "
                f"{cpu * 1e3:.2f} ms, served reference CPU {server_cpu * 1e3:.2f} ms; libraries "
                f"{interleaved['libraries'] * 1e3:.2f} ms interleaved, {hot['libraries'] * 1e3:.2f} ms in a loop; "
                f"floor {interleaved['floor'] * 1e3:.3f} / {hot['floor'] * 1e3:.3f} ms")
    finally:
        meter.unwrap()
        world.close()

    med = lambda f: median(f(x) for x in results)  # noqa: E731
    split = {k: med(lambda x, k=k: x["cpu"].get(k, 0.0)) for k in ORDER}
    wall_split = {k: med(lambda x, k=k: x["wall"].get(k, 0.0)) for k in ORDER}
    calls = {k: med(lambda x, k=k: x["calls"].get(k, 0.0)) for k in ORDER}
    cpu = med(lambda x: x["process_cpu"])
    other = med(lambda x: x["process_cpu"] - sum(x["cpu"].values()))
    inter = {k: med(lambda x, k=k: x["interleaved"][k]) for k in results[0]["interleaved"]}
    hot = {k: med(lambda x, k=k: x["hot"][k]) for k in results[0]["hot"]}
    ratio = {name: med(lambda x, name=name, src=src, key=key: x["process_cpu"] / x[src][key])
             for name, src, key in (("libraries", "interleaved", "libraries"), ("libraries_hot", "hot", "libraries"),
                                    ("floor", "interleaved", "floor"), ("floor_hot", "hot", "floor"),
                                    ("exchange_hot", "hot", "exchange"))}
    wall = med(lambda x: x["request_wall"])
    server_cpu = med(lambda x: x["server_cpu"])
    out.data = {"runs": runs, "requests_per_run": per_run, "clock": "CPU unless named wall",
                "split_cpu_ms": {**{k: v * 1e3 for k, v in split.items()}, "other": other * 1e3},
                "split_wall_ms": {k: v * 1e3 for k, v in wall_split.items()},
                "calls_per_request": calls, "harness_cpu_ms": cpu * 1e3, "server_cpu_ms": server_cpu * 1e3,
                "request_wall_ms": wall * 1e3,
                "libraries_interleaved_ms": {k: v * 1e3 for k, v in inter.items()},
                "libraries_loop_ms": {k: v * 1e3 for k, v in hot.items()},
                "ratios": ratio, "not_instrumented": meter.missing, "runs_detail": results}
    shown = " / ".join(f"{k} {fmt_ms(split[k])}" for k in ("build", "sign", "validate", "send", "verify", "decide"))
    extra = (f"; parse {fmt_ms(split['parse'])}, callback receiver {fmt_ms(split['receive'])}, other "
             f"{fmt_ms(max(0.0, other))}")
    missing = f" (not instrumented: {', '.join(meter.missing)})" if meter.missing else ""
    out.rows.append(Row("one 6.15.1 through the harness: CPU split (ms)",
                        shown + extra + f" = {fmt_ms(cpu)} ms harness CPU a request{missing}. Wall: "
                        f"{fmt_ms(wall, 1)} ms a request, of which send {fmt_ms(wall_split['send'], 1)} (HTTP, the "
                        f"acknowledgement included) and await {fmt_ms(wall_split['await'], 1)} (the outcome); served "
                        f"reference CPU {fmt_ms(server_cpu)} ms. Median of {runs} x {per_run}", "-", None))
    out.rows.append(Row("one 6.15.1: harness CPU / libraries' sign + validate + verify of the request",
                        f"{fmt_ms(cpu)} / {fmt_ms(inter['libraries'])} ms = {ratio['libraries']:.1f}x interleaved "
                        f"({fmt_ms(hot['libraries'])} ms in a loop: {ratio['libraries_hot']:.1f}x); per request the "
                        f"harness validates x{calls['validate']:.0f}, verifies x{calls['verify']:.0f}, parses "
                        f"x{calls['parse']:.0f} (3 documents)",
                        f"<= {TARGET_RATIO:g}x", None if opts.quick else ratio["libraries"] <= TARGET_RATIO))
    out.rows.append(Row("one 6.15.1: harness CPU / crypto floor (exclusive C14N + ECDSA P-256 sign + verify)",
                        f"{fmt_ms(cpu)} / {fmt_ms(inter['floor'], 3)} ms = {ratio['floor']:.0f}x interleaved "
                        f"({fmt_ms(hot['floor'], 3)} ms in a loop: {ratio['floor_hot']:.0f}x); / the exchange's "
                        f"minimal library work in a loop ({fmt_ms(hot['exchange'])} ms): {ratio['exchange_hot']:.1f}x",
                        "reported", None))
    return out


BENCHMARKS = {NAME: run}
