"""Every model, imported in one place so Alembic and relationships see them all."""

from saas.audit import AuditEvent
from saas.auth.models import ApiKey, User
from saas.auth.tokens import OneTimeToken
from saas.companies import Company, membership
from saas.console.models import UploadBatch
from saas.mail import OutboxMessage
from saas.platform.models import PlatformAdmin
from saas.portal.models import DownloadEvent, ExportJob, Invoice, InvoiceNotice, NoticeDigest
from saas.seats.models import Seat, SeatPurchase
from saas.signup.models import Signup
from saas.support.models import SupportMessage, SupportRequest
from saas.tenancy.models import Tenant, TenantDomain

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Company",
    "DownloadEvent",
    "ExportJob",
    "Invoice",
    "InvoiceNotice",
    "NoticeDigest",
    "OneTimeToken",
    "OutboxMessage",
    "PlatformAdmin",
    "Seat",
    "SeatPurchase",
    "Signup",
    "SupportMessage",
    "SupportRequest",
    "Tenant",
    "TenantDomain",
    "UploadBatch",
    "User",
    "membership",
]
