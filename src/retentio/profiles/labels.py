"""Words for profile values as pages show them (translated where displayed), and what each
number on a contact's profile means, for the card's explanations."""

from __future__ import annotations

from retentio.kit.text import N_
from retentio.predict.rfm import Segment
from retentio.profiles.lifecycle import ChurnBand, LifecycleStage

CHURN_BAND_LABELS: dict[str, str] = {
    ChurnBand.LOW.value: N_("Low"),
    ChurnBand.MEDIUM.value: N_("Medium"),
    ChurnBand.HIGH.value: N_("High"),
    ChurnBand.LOST.value: N_("Lost"),
}

SEGMENT_LABELS: dict[str, str] = {
    Segment.CHAMPIONS.value: N_("Champions"),
    Segment.LOYAL.value: N_("Loyal"),
    Segment.POTENTIAL_LOYALISTS.value: N_("Potential Loyalists"),
    Segment.NEW.value: N_("New"),
    Segment.PROMISING.value: N_("Promising"),
    Segment.NEED_ATTENTION.value: N_("Need Attention"),
    Segment.ABOUT_TO_SLEEP.value: N_("About to Sleep"),
    Segment.AT_RISK.value: N_("At Risk"),
    Segment.CANT_LOSE.value: N_("Can't Lose"),
    Segment.HIBERNATING.value: N_("Hibernating"),
    Segment.LOST.value: N_("Lost"),
}

STAGE_LABELS: dict[str, str] = {
    LifecycleStage.ATTRACTION.value: N_("Attraction"),
    LifecycleStage.INTEREST.value: N_("Interest"),
    LifecycleStage.EVALUATION.value: N_("Evaluation"),
    LifecycleStage.PURCHASE.value: N_("Purchase"),
    LifecycleStage.LOYALTY.value: N_("Loyalty"),
    LifecycleStage.CHURNED.value: N_("Churned"),
}

# Shown under each number of the card's profile block, so nobody has to guess what it means.
EXPLANATIONS: dict[str, str] = {
    "lifecycle_stage": N_(
        "Attraction: no order and no activity; interest: some activity; evaluation: a cart or"
        " checkout in the last 30 days; purchase: at least one order; loyalty: repeat buyer"
        " who is likely still active; churned: the churn risk is lost."
    ),
    "churn_band": N_(
        "From the probability of being active and the time since the last order compared with"
        " this customer's own rhythm between orders."
    ),
    "rfm": N_(
        "Recency, frequency and monetary value, each scored 1 (lowest fifth of customers) to 5"
        " (highest fifth); the segment comes from the recency and frequency scores."
    ),
    "p_alive": N_(
        "Probability that the customer still buys from you, from the BG/NBD model fitted on"
        " all customers' order histories."
    ),
    "expected_purchases_90d": N_(
        "Orders the model expects from this customer in the next 90 days."
    ),
    "clv_12m": N_(
        "Predicted revenue over the next 12 months (BG/NBD × Gamma-Gamma), discounted by one"
        " percent a month."
    ),
    "p_alive_single_order": N_(
        "BG/NBD cannot judge a customer with a single order: it assumes nobody leaves before a"
        " repeat purchase. The churn risk then rests on the time since that order."
    ),
    "average_check": N_("Revenue divided by the number of orders that were not cancelled."),
    "mean_days_between": N_("Days from the first to the last order divided by repeat orders."),
    "recency_days": N_("Days since the last order."),
}
