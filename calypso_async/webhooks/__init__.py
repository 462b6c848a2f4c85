"""``calypso_async.webhooks``: verify, parse and receive Calypso Pay webhook deliveries.

Why a package of its own: receiving webhooks needs none of the API client (no API keys, no clock), only the
subscription's ``secretKey``; sync web apps (Flask, Django) use the same functions through
:func:`handle_webhook`. Subscriptions themselves are managed with ``client.webhooks.create/list/delete``.

>>> event = construct_event(raw_body, headers, secret_key)   # doctest: +SKIP

* :func:`verify_signature` — HMAC-SHA512 of the raw body, constant time;
* :func:`construct_event` — verify, then parse into a :class:`WebhookEvent` whose ``data`` is typed per event
  (``InvoicePaidData``, ...; :class:`UnknownEventData` for types this version does not know);
* :func:`dedup_key` — delivery is at least once and may be out of order: de-duplicate on it;
* :func:`webhook_handler` (aiohttp) and :func:`handle_webhook` (sync) — answer 200 only after your callback
  succeeded, so a failure is redelivered by Calypso.
"""

from ..models._enums import WebhookEventType, WebhookLevel, WebhookServiceType
from ._envelope import WebhookEvent, canonical_event_type, dedup_key, event_class_for, parse_event
from ._events import (
    EVENT_ALIASES,
    EVENT_CLASSES,
    EVENT_SERVICES,
    CustomerPurseComplianceDeclinedData,
    CustomerPurseExpiredData,
    CustomerPurseFundsReceivedForPurseData,
    CustomerPurseMemPoolFoundData,
    CustomerPursePendingComplianceData,
    CustomerPurseTranslationToAccountCompletedData,
    FiatDepositFiatFundsReceivedData,
    FiatDepositOrderConfirmData,
    FiatDepositOrderCreatedData,
    FiatDepositOrderExpiredData,
    FiatDepositOrderFailedData,
    InvoiceComplianceDeclinedData,
    InvoiceCreateInvoiceData,
    InvoiceCreateUnlimitedInvoiceData,
    InvoiceExpiredData,
    InvoiceFundsReceivedForInvoiceData,
    InvoiceMempoolFoundData,
    InvoicePaidData,
    InvoicePendingComplianceData,
    InvoicePendingInterventionData,
    InvoiceTranslationToAccountCompletedData,
    PayoutChangeStatusData,
    PayoutConfirmedData,
    PayoutHashReceivedData,
    PayoutSpeededUpData,
    PayoutValidationErrorData,
    PayoutWithdrawalsCreatingValidationErrorData,
    TopUpComplianceDeclinedData,
    TopUpPendingComplianceData,
    WalletFundsDeliveredAccountData,
)
from ._receive import AsyncSecretSource, EventCallback, SecretSource, handle_webhook, webhook_handler
from ._types import DecimalOrObject, EventData, StringList, UnknownEventData
from ._verify import Headers, RawBody, construct_event, header_value, parse_body, verify_signature

__all__ = [
    "EVENT_ALIASES",
    "EVENT_CLASSES",
    "EVENT_SERVICES",
    "AsyncSecretSource",
    "CustomerPurseComplianceDeclinedData",
    "CustomerPurseExpiredData",
    "CustomerPurseFundsReceivedForPurseData",
    "CustomerPurseMemPoolFoundData",
    "CustomerPursePendingComplianceData",
    "CustomerPurseTranslationToAccountCompletedData",
    "DecimalOrObject",
    "EventCallback",
    "EventData",
    "FiatDepositFiatFundsReceivedData",
    "FiatDepositOrderConfirmData",
    "FiatDepositOrderCreatedData",
    "FiatDepositOrderExpiredData",
    "FiatDepositOrderFailedData",
    "Headers",
    "InvoiceComplianceDeclinedData",
    "InvoiceCreateInvoiceData",
    "InvoiceCreateUnlimitedInvoiceData",
    "InvoiceExpiredData",
    "InvoiceFundsReceivedForInvoiceData",
    "InvoiceMempoolFoundData",
    "InvoicePaidData",
    "InvoicePendingComplianceData",
    "InvoicePendingInterventionData",
    "InvoiceTranslationToAccountCompletedData",
    "PayoutChangeStatusData",
    "PayoutConfirmedData",
    "PayoutHashReceivedData",
    "PayoutSpeededUpData",
    "PayoutValidationErrorData",
    "PayoutWithdrawalsCreatingValidationErrorData",
    "RawBody",
    "SecretSource",
    "StringList",
    "TopUpComplianceDeclinedData",
    "TopUpPendingComplianceData",
    "UnknownEventData",
    "WalletFundsDeliveredAccountData",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookLevel",
    "WebhookServiceType",
    "canonical_event_type",
    "construct_event",
    "dedup_key",
    "event_class_for",
    "handle_webhook",
    "header_value",
    "parse_body",
    "parse_event",
    "verify_signature",
    "webhook_handler",
]
