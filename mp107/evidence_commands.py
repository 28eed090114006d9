"""`mp107 bundle`, `mp107 verify-bundle` and `mp107 run --bundle`: the commands over evidence/.

    mp107 bundle RUN_DIR [--key KEY --certificate CERT] [-o FILE] [--policy FILE] [--baseline FILE]
    mp107 verify-bundle FILE [--ca CAFILE]

verify-bundle exits 0 when everything agrees, 1 naming each disagreement, 2 when the file is not a
bundle (or the CA file is unreadable).
"""
from __future__ import annotations

import sys
from pathlib import Path

EXIT_AGREES, EXIT_DISAGREES, EXIT_UNREADABLE = 0, 1, 2


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def add_run_options(run) -> None:
    run.add_argument("--bundle", nargs="?", const="", default=None, metavar="FILE",
                     help="at the end, write the run's signed evidence bundle (default RUN_DIR/evidence-bundle.zip); "
                          "see `mp107 bundle`")
    run.add_argument("--bundle-key", type=Path, default=None, help="private key that signs the bundle (PEM)")
    run.add_argument("--bundle-certificate", type=Path, default=None,
                     help="its certificate (PEM; intermediate CAs may follow it)")


def add_parsers(sub) -> None:
    b = sub.add_parser("bundle", help="write one signed archive of a run folder, checkable offline with openssl",
                       description="Write RUN_DIR's evidence (reports, results, exact wire bytes, certificates, "
                                   "policy, profile without private-key paths) and a manifest of their SHA-256, "
                                   "signed as a detached CMS SignedData, into one zip. Without --key the manifest is "
                                   "signed with a one-off key: integrity only, no identity (docs/evidence.md).")
    b.add_argument("run_dir")
    b.add_argument("--key", type=Path, default=None, help="signing key (PEM or DER; EC or RSA)")
    b.add_argument("--certificate", type=Path, default=None, help="its certificate (PEM; intermediate CAs may follow)")
    b.add_argument("-o", "--out", type=Path, default=None, help="the zip to write (default RUN_DIR/evidence-bundle.zip)")
    b.add_argument("--policy", type=Path, default=None, help="the policy the run was judged with, if it moved since")
    b.add_argument("--baseline", type=Path, default=None, help="the run's baseline of known deviations, if it moved since")
    b.set_defaults(func=cmd_bundle)

    v = sub.add_parser("verify-bundle", help="check a bundle: its signature, every hash and signature, and the verdict",
                       description="Check the manifest's CMS signature (against --ca), every file's SHA-256, every "
                                   "leg's DUIS and GBCS signature with the bundled certificates, and recompute the "
                                   "verdict from the bundled results with the same gate and policy. Exit 0 only if "
                                   "everything agrees; 1 naming each disagreement; 2 if it is not a bundle.")
    v.add_argument("file", type=Path)
    v.add_argument("--ca", type=Path, default=None,
                   help="CA certificates (PEM) the signer must chain to; without it, integrity only")
    v.add_argument("--verbose", "-v", action="store_true", help="also print the notes (e.g. each refused request)")
    v.set_defaults(func=cmd_verify)


def bundle(run_dir: Path, out, key, certificate, policy=None, baseline=None) -> int:
    from evidence import bundle as bundle_mod
    try:
        made = bundle_mod.make(run_dir, out, key=key, certificate=certificate, policy=policy, baseline=baseline)
    except bundle_mod.BundleError as exc:
        _err(f"mp107 bundle: {exc}")
        return EXIT_UNREADABLE
    for warning in made.warnings:
        _err(f"mp107 bundle: warning: {warning}")
    print(f"Evidence bundle: {made.path} ({made.files} files, {made.legs} wire legs; signed by {made.signer}"
          f"{'' if made.trusted_key else ', integrity only'})")
    return 0


def cmd_bundle(args, extra) -> int:
    return bundle(Path(args.run_dir), args.out, args.key, args.certificate, args.policy, args.baseline)


def after_run(args, run_dir: Path, exit_code: int) -> int:
    """`mp107 run --bundle`: bundle the judged run; a bundle that cannot be written turns a
    conformant exit into 2 (the evidence asked for is missing), and leaves 1 and 2 as they are."""
    if getattr(args, "bundle", None) is None:
        return exit_code
    rc = bundle(run_dir, Path(args.bundle) if args.bundle else None, args.bundle_key, args.bundle_certificate,
                getattr(args, "policy", None), getattr(args, "baseline", None))
    return exit_code if rc == 0 or exit_code != 0 else EXIT_UNREADABLE


def cmd_verify(args, extra) -> int:
    from evidence import verify
    try:
        outcome = verify.verify(args.file, args.ca)
    except verify.BundleUnreadable as exc:
        _err(f"mp107 verify-bundle: {exc}")
        return EXIT_UNREADABLE
    for fact in outcome.facts:
        print(f"  ok: {fact}")
    for warning in outcome.warnings:
        print(f"  warning: {warning}")
    for note in outcome.notes if args.verbose else ():
        print(f"  note: {note}")
    if not args.verbose and outcome.notes:
        print(f"  ({len(outcome.notes)} notes: --verbose)")
    for problem in outcome.problems:
        print(f"  DISAGREES: {problem}")
    if outcome.ok:
        trust = "signer trusted" if outcome.signed and outcome.signed.trusted else "integrity only: signer not checked against a CA"
        print(f"Bundle verified: everything agrees ({trust})")
        return EXIT_AGREES
    print(f"Bundle NOT verified: {len(outcome.problems)} disagreement(s)")
    return EXIT_DISAGREES
