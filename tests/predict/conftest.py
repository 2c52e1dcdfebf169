"""Shared data for the model tests: the CDNOW sample that ships in shared/data/cdnow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from retentio.predict._arrays import FloatArray

CDNOW_FOLDER = Path("shared") / "data" / "cdnow"


def cdnow_folder() -> Path:
    """shared/data/cdnow, looked for beside every folder above this file (the repo's parent)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / CDNOW_FOLDER).is_dir():
            return folder / CDNOW_FOLDER
    pytest.fail(
        f"CDNOW data not found: no {CDNOW_FOLDER} beside any folder above {here.parent}; "
        "the model tests need the shared data set next to the repository",
        pytrace=False,
    )


@dataclass(frozen=True)
class Cdnow:
    customer: FloatArray
    x: FloatArray
    t_x: FloatArray
    T: FloatArray  # the papers' name
    zbar: FloatArray


@pytest.fixture(scope="session")
def cdnow() -> Cdnow:
    """The published 39-week calibration summary (weeks), one row per customer."""
    data = np.loadtxt(
        cdnow_folder() / "cdnow_customers_summary_with_transactions.csv",
        delimiter=",",
        skiprows=1,
    )
    return Cdnow(data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 4])


@dataclass(frozen=True)
class Transactions:
    customer: FloatArray
    moment: np.ndarray  # datetime64[D]
    amount: FloatArray


@pytest.fixture(scope="session")
def cdnow_transactions() -> Transactions:
    """The raw CDNOW sample: sample id, purchase date and dollars of each of 6,919 purchases."""
    raw = np.loadtxt(cdnow_folder() / "CDNOW_sample.txt", dtype=str)
    moment = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    return Transactions(raw[:, 1].astype(np.int64), moment, raw[:, 4].astype(np.float64))
