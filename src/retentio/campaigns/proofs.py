""" "Send a test to myself": one message of a campaign's variant, rendered with a chosen
contact's data (or a stand-in made of the author's name), sent straight to the author.

A proof skips the outbox and every send-time rule: it is not a marketing message to a
contact, it is the author checking their own work, and it must not count in the report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.campaigns import service
from retentio.campaigns.models import Campaign, CampaignVariant
from retentio.consent.models import Channel
from retentio.contacts.models import Contact
from retentio.errors import InvalidInput
from retentio.messaging.models import MessageContent
from retentio.messaging.sending import Proof, Sender, TransportFactory, default_transport
from retentio.messaging.templates import (
    RenderedContent,
    compile_content,
    render_content,
    template_variables,
)
from retentio.messaging.tracking import Links, Signer
from retentio.profiles.models import Profile
from retentio.settings import Settings


def _variant(session: Session, campaign: Campaign, variant_id: int | None) -> CampaignVariant:
    variants = service.variants_of(session, campaign.id)
    wanted = variant_id or campaign.winner_variant_id
    for variant in variants:
        if wanted is None or variant.id == wanted:
            return variant
    raise InvalidInput("The campaign has no such variant.", details={"field": "variant_id"})


def _contact(session: Session, contact_id: int | None, user: User) -> Contact:
    if contact_id is None:
        first, _, last = user.name.partition(" ")
        return Contact(first_name=first, last_name=last, email=user.email, language=user.locale)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at or contact.erased_at:
        raise InvalidInput("There is no such contact.", details={"field": "contact_id"})
    return contact


def _address(channel: Channel, address: str | None, user: User) -> str:
    address = (address or "").strip()
    if channel == Channel.EMAIL:
        address = address or user.email
        if "@" not in address:
            raise InvalidInput("That is not an e-mail address.", details={"field": "address"})
    elif not address:
        raise InvalidInput(
            "Say where the test should go: a phone or chat id.", details={"field": "address"}
        )
    return address


def send_proof(
    session: Session,
    campaign_id: int,
    *,
    address: str | None,
    contact_id: int | None,
    variant_id: int | None,
    user: User,
    settings: Settings,
    now: datetime,
    transport_factory: TransportFactory = default_transport,
) -> str:
    """Send the proof and return the address it went to; InvalidInput names what is wrong."""
    campaign = service.get(session, campaign_id)
    variant = _variant(session, campaign, variant_id)
    contact = _contact(session, contact_id, user)
    content = session.get(MessageContent, service.content_for(variant, contact.language))
    assert content is not None  # a foreign key
    proof = Proof(
        account_id=campaign.account_id,
        channel=campaign.channel,
        purpose=campaign.purpose,
        content=content,
        contact=contact,
        profile=session.get(Profile, contact.id) if contact.id else None,
        address=_address(campaign.channel, address, user),
    )
    links = Links(Signer(settings.resolved_secret_key()), settings.base_url)
    sender = Sender(links=links, transport_factory=transport_factory)
    try:
        sender.send_proof(session, proof, now=now)
    finally:
        sender.close()
    return proof.address


def preview(
    session: Session,
    campaign_id: int,
    *,
    contact_id: int | None,
    variant_id: int | None,
    user: User,
    settings: Settings,
) -> RenderedContent:
    """The variant as the contact (or the author's stand-in) would get it, links untracked;
    a template that fails to render raises TemplateRenderError naming the part."""
    campaign = service.get(session, campaign_id)
    variant = _variant(session, campaign, variant_id)
    contact = _contact(session, contact_id, user)
    content = session.get(MessageContent, service.content_for(variant, contact.language))
    assert content is not None  # a foreign key
    links = Links(Signer(settings.resolved_secret_key()), settings.base_url)
    variables = template_variables(
        contact,
        session.get(Profile, contact.id) if contact.id else None,
        links=links.for_message(0),
        extra={"campaign": {"id": campaign.id, "name": campaign.name}},
    )
    compiled = compile_content(content.subject, content.preheader, content.html, content.text)
    return render_content(compiled, variables)
