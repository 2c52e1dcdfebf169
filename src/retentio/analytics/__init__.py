"""Retention analytics: period metrics, revenue levers, cohorts, profile distributions, the
calibration report, and the Analytics page and API that show them.

`formulas` holds the pure arithmetic (tested against hand-computed examples); `queries` reads
the period counts in one grouped statement; `cohorts`, `distributions` and `holdout` read the
other sections, each in one grouped statement; `report` assembles the page.
"""
