"""Imports every domain's models so `Base.metadata` is complete (for Alembic and tests)."""

from __future__ import annotations

from retentio.activities import models as activities_models
from retentio.audit import models as audit_models
from retentio.auth import models as auth_models
from retentio.campaigns import models as campaigns_models
from retentio.commerce import models as commerce_models
from retentio.companies import models as companies_models
from retentio.consent import models as consent_models
from retentio.contacts import models as contacts_models
from retentio.db import Base
from retentio.events import models as events_models
from retentio.feedback import models as feedback_models
from retentio.fields import models as fields_models
from retentio.forms import models as forms_models
from retentio.imports import models as imports_models
from retentio.journeys import models as journeys_models
from retentio.loyalty import models as loyalty_models
from retentio.messaging import models as messaging_models
from retentio.profiles import models as profiles_models
from retentio.recommend import models as recommend_models
from retentio.sales import models as sales_models
from retentio.segments import models as segments_models

__all__ = [
    "Base",
    "activities_models",
    "audit_models",
    "auth_models",
    "campaigns_models",
    "commerce_models",
    "companies_models",
    "consent_models",
    "contacts_models",
    "events_models",
    "feedback_models",
    "fields_models",
    "forms_models",
    "imports_models",
    "journeys_models",
    "loyalty_models",
    "messaging_models",
    "profiles_models",
    "recommend_models",
    "sales_models",
    "segments_models",
]
