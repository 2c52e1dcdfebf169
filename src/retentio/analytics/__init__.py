"""Retention metrics and revenue levers for a period, overall and per source or city.

`formulas` holds the pure arithmetic (tested against hand-computed examples); `queries` reads
the counts from the database in one grouped statement and applies the formulas.
"""
