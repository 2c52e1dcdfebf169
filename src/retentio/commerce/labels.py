"""Words for order statuses and sales channels as pages show them (translated where displayed)."""

from __future__ import annotations

from retentio.commerce.models import OrderChannel, OrderStatus
from retentio.kit.text import N_

STATUS_LABELS: dict[OrderStatus, str] = {
    OrderStatus.PLACED: N_("Placed"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.FULFILLED: N_("Fulfilled"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.REFUNDED: N_("Refunded"),
}

CHANNEL_LABELS: dict[OrderChannel, str] = {
    OrderChannel.ONLINE: N_("Online"),
    OrderChannel.OFFLINE: N_("In store"),
    OrderChannel.PHONE: N_("By phone"),
}
