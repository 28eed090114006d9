"""Result collection and the HTML conformance report.

The source of truth for a run is its Allure results folder (`*-result.json` plus attachments):
`reports.results` reads it, `reports.matrix` traces it to the requirement catalogue,
`conformance.gate` judges it against a release policy, and `reports.html` renders one self-contained
HTML file. `reports.pytest_plugin` is loaded into the suite by `mp107 run` to record the target's
description and state (`run-info.json`) and to report progress. Nothing here imports reference
code.
"""
