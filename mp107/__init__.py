"""SECMP0107 conformance harness: the requirement catalogue and the `mp107` command."""
