"""Customer-base models: RFM scores, BG/NBD and its alternatives, Gamma-Gamma spend and CLV.

Pure: numpy arrays in, numpy arrays and frozen dataclasses out; no database and no I/O. The
services that read contacts and orders and store the scores live elsewhere. Each model is a
module (`bgnbd`, `mbgnbd`, `paretonbd`, `gammagamma`) of functions over its parameter class;
`summary` turns transactions into the models' input and `calibration` checks a fit on a
holdout.
"""

from retentio.predict._fitting import FitResult
from retentio.predict._protocols import PurchaseModel

__all__ = ["FitResult", "PurchaseModel"]
