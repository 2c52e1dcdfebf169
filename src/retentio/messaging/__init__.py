"""Messaging: sending accounts, the outbox (one row per message, written before any channel is
called), e-mail rendering with DKIM, SMTP delivery, sandboxed templates, signed tracking links
and the public open / click / unsubscribe endpoints. Campaigns and journeys build on it."""
