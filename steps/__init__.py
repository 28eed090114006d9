"""pytest-bdd step definitions, grouped by domain concept. Thin: they parse, delegate to the
adapters and the codec, and assert on named codes."""
