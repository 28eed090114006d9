"""The verdict model of the SECMP0107 conformance harness: the requirement catalogue
(`requirements.toml`, read by `catalogue`), the words a result carries beyond pass/fail
(`verdicts`) and the release gate that turns traced results into a verdict (`gate`).

It imports nothing of the project: the steps write its words, `reports` reads them, and the
`mp107` command judges with the gate.
"""
