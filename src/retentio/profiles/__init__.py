"""Customer profiles: one row per contact with order aggregates, RFM, model predictions,
churn-risk band and lifecycle stage, rebuilt in bulk by `service.recompute`."""
