"""SECMP0107 conformance harness: the `mp107` command (run the suite, judge a run, report, kill matrix).

The verdict model it judges with (catalogue, gate, verdicts) is the `conformance` package."""
