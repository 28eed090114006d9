"""Evidence an assurance team can verify offline: one signed bundle per run.

Modules, one job each: ``cms`` (a detached CMS SignedData over the manifest, RFC 5652: made with
cryptography's PKCS#7 builder, checked with asn1crypto and cryptography, and by ``openssl cms
-verify``), ``manifest`` (what a bundle holds and the signed list of every file's SHA-256),
``wire`` (the run's exact wire bytes: ``wire/<sha256>.xml`` and its index), ``certificates`` (the
certificates the run's signatures were made and checked with: ``certificates/<sha256>.pem`` and its
index), ``redact`` (the profile without private-key paths), ``bundle`` (a run folder into one zip),
``legs`` (every leg's DUIS and GBCS signature re-verified with the bundled certificates) and
``verify`` (a bundle checked end to end, the verdict recomputed with the same gate).

It reads results through ``reports`` (``collect.judge``, the gate ``mp107 run`` uses), and DUIS and
GBCS only through ``duis`` and ``gbcs``; nothing below it imports it.
"""
