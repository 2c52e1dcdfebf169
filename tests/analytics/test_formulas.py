"""The formulas of `analytics.formulas` against examples computed by hand."""

from __future__ import annotations

from decimal import Decimal

from retentio.analytics.formulas import (
    Levers,
    average_check,
    average_lifetime,
    churn_rate,
    lever_changes,
    purchase_frequency,
    repeat_purchase_rate,
    retention_rate,
    simple_ltv,
    weakest_lever,
    what_if,
)


def test_the_textbook_example_gives_crr_80_and_churn_20_percent() -> None:
    # given: 1000 customers at the start, 200 left, 150 came: 1000 - 200 + 150 = 950 at the end
    start, lost, new = 1000, 200, 150
    end = start - lost + new
    # when
    crr = retention_rate(start, end, new)
    churn = churn_rate(start, lost)
    # then: (950 - 150) / 1000 and 200 / 1000
    assert crr == 0.8
    assert churn == 0.2


def test_purchase_metrics_follow_their_definitions() -> None:
    # given: 40 buyers, 10 of them bought twice or more, 60 orders for 9000.00
    # then: 10/40, 60/40, 9000/60; lifetime 3000 days over 40 customers
    assert repeat_purchase_rate(10, 40) == 0.25
    assert purchase_frequency(60, 40) == 1.5
    assert average_check(Decimal("9000.00"), 60) == Decimal("150.00")
    assert average_check(Decimal("100.00"), 3) == Decimal("33.33")
    assert average_lifetime(3000.0, 40) == 75.0


def test_simple_ltv_is_check_times_frequency_times_lifetime() -> None:
    # given: check 150.00, 1.5 purchases a month, 8 months -> 150 x 1.5 x 8 = 1800
    # then
    assert simple_ltv(Decimal("150.00"), 1.5, 8.0) == Decimal("1800.00")
    assert simple_ltv(None, 1.5, 8.0) is None


def test_zero_denominators_give_none() -> None:
    assert retention_rate(0, 5, 5) is None
    assert churn_rate(0, 0) is None
    assert repeat_purchase_rate(0, 0) is None
    assert purchase_frequency(0, 0) is None
    assert average_check(Decimal("0"), 0) is None
    assert average_lifetime(0.0, 0) is None
    levers = Levers.from_counts(leads=0, buyers=0, orders=0, revenue=Decimal("0"))
    assert levers == Levers(0, None, None, None)
    assert levers.revenue is None


def test_levers_multiply_back_to_the_revenue() -> None:
    # given: 1000 leads, 50 buyers, 75 orders, 10000.00 revenue
    # when
    levers = Levers.from_counts(leads=1000, buyers=50, orders=75, revenue=Decimal("10000.00"))
    # then: conversion 0.05, check 10000/75 = 133.33.., 1.5 purchases per buyer
    assert levers.conversion == 0.05
    assert levers.purchases_per_customer == 1.5
    assert levers.revenue == Decimal("10000.00")


def test_twenty_percent_on_each_lever_doubles_the_revenue() -> None:
    # given
    plus_20 = Decimal("1.2")
    # when
    growth = what_if(
        {
            "leads": plus_20,
            "conversion": plus_20,
            "average_check": plus_20,
            "purchases_per_customer": plus_20,
        }
    )
    # then: 1.2 ** 4
    assert growth == Decimal("2.0736")
    assert what_if({"average_check": 1.1}) == Decimal("1.1")
    assert what_if({}) == Decimal(1)


def test_the_weakest_lever_has_the_worst_relative_change() -> None:
    # given: leads +10 %, conversion -20 %, check +5 %, purchases per buyer unchanged
    previous = Levers(1000, 0.05, Decimal("100.00"), 1.5)
    current = Levers(1100, 0.04, Decimal("105.00"), 1.5)
    # when
    changes = lever_changes(previous, current)
    # then
    assert changes == {
        "leads": 0.1,
        "conversion": -0.2,
        "average_check": 0.05,
        "purchases_per_customer": 0.0,
    }
    assert weakest_lever(previous, current) == "conversion"


def test_undefined_changes_are_left_out_of_the_weakest_lever() -> None:
    # given: no leads before (change undefined), the rest equal
    previous = Levers(0, None, Decimal("100.00"), 1.5)
    current = Levers(10, 0.5, Decimal("100.00"), 1.5)
    # then: check and frequency tie at 0: the first of them in lever order
    assert lever_changes(previous, current)["leads"] is None
    assert weakest_lever(previous, current) == "average_check"
    assert weakest_lever(Levers(0, None, None, None), current) is None
