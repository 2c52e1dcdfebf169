"""Checksum validation of Russian taxpayer numbers (ИНН), 10 digits for organisations and
12 for individuals, by the weights published by the Federal Tax Service."""

from __future__ import annotations

WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def is_valid_inn(inn: str) -> bool:
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    digits = [int(c) for c in inn]
    if len(inn) == 10:
        return _check_digit(digits, WEIGHTS_10) == digits[9]
    return (
        _check_digit(digits, WEIGHTS_11) == digits[10]
        and _check_digit(digits, WEIGHTS_12) == digits[11]
    )
