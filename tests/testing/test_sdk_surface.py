"""Every generated resource method against the fake: the answers structure into the SDK's models."""

from __future__ import annotations

import uuid
from decimal import Decimal

from calypso_async import AsyncCalypso
from calypso_async.testing import FakeCalypso

TRON_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


async def test_every_resource_method(server: FakeCalypso, client: AsyncCalypso) -> None:
    state = server.state
    c = client
    assert (await c.account.get()).account == server.account_id
    assert (await c.user.current()).available_accounts
    assert (await c.rates.get(from_currencies=["BTC"], to_currencies=["USDT_TRX"])).currency_rates
    assert (await c.rates.fiat()).rates_map

    invoice = await c.invoices.create_single(amount=Decimal("0.1"), currency="ETH", description="x")
    assert invoice.idempotency_key is not None
    assert (await c.invoices.get(idempotency_key=invoice.idempotency_key)).id == invoice.id
    await c.invoices.create_single_fiat(fiat_amount=Decimal("10"), fiat_currency="USD", currency="ETH", description="x")
    await c.invoices.create_bound(lower_bound=Decimal("1"), currency="TRX", description="x")
    await c.invoices.create_unlimited(currency="TRX", description="x")

    linked = await c.payment_widgets.create_unlimited_linked(crypto_currencies=["ETH"], description="w")
    assert linked.idempotency_key is not None
    await c.payment_widgets.get_unlimited_linked(request_id=linked.idempotency_key)
    fiat_widget = await c.payment_widgets.create_single_fiat(
        fiat_amount=Decimal("5"), fiat_currency="USD", crypto_currencies=["ETH"]
    )
    assert fiat_widget.idempotency_key is not None
    await c.payment_widgets.get_single_fiat(request_id=fiat_widget.idempotency_key)

    payout = await c.payouts.create(currency="TRX", amount=Decimal("1"), deposit_address=TRON_ADDRESS)
    assert (await c.payouts.get(id=payout.id)).state == "CREATED"
    await c.payouts.get_withdrawal(request_id=payout.id)
    mass = await c.payouts.create_mass(
        currency="TRX", extra={"withdrawals": [{"depositAddress": TRON_ADDRESS, "amount": 1}, {"amount": 1}]}
    )
    assert (await c.payouts.get_mass(id=mass.id)).errors is not None
    settlement = next(iter(state.settlement_payouts.values())).data
    await c.settlement_payouts.get(id=settlement["id"])
    await c.settlement_payouts.get_withdrawal(request_id=settlement["id"])

    await c.fiat_withdrawals.get(id=next(iter(state.fiat_withdrawal_orders)))
    await c.fiat_withdrawals.get_methods(currency="ETH", crypto_amount=Decimal("1"))
    await c.fiat_withdrawals.list_geos()
    await c.fiat.get_order(idempotency_key=next(iter(state.fiat_orders)))
    await c.fiat.get_methods(currency="ETH", geo_id=state.geos[0]["id"])
    await c.fiat.list_geos()
    await c.fiat_deposits.get(id=next(iter(state.fiat_deposit_orders)))
    await c.fiat_deposits.get_methods(currency="ETH", fiat_amount=Decimal("100"))
    await c.fiat_deposits.generate_key()
    await c.crypto_to_fiat.get_order(order_id=next(iter(state.c2f_orders)))
    await c.crypto_to_fiat.fix_rate(type="CARD", fiat_currency="EUR", currency="ETH")
    await c.crypto_to_fiat.get_limit(type="SEPA", fiat_currency="EUR")

    await c.exchanges.pre_calculate(
        source_currency="TRX", destination_currency="ETH", amount=Decimal("10"), direction="SOURCE"
    )
    await c.exchanges.pairs()
    await c.exchanges.get_limit(source_currency="TRX", destination_currency="ETH")
    exchange = await c.exchanges.create(source_currency="TRX", destination_currency="ETH", amount=Decimal("10"))
    assert exchange.id is not None
    assert (await c.exchanges.get(id=exchange.id)).state == "COMPLETED"
    await c.exchanges.get_average_rate(source_currency="TRX", destination_currency="ETH")

    customer = await c.customer_purse.create_customer(description="c")
    assert customer.id is not None
    await c.customer_purse.update_customer(id=customer.id, description="c2")
    assert (await c.customer_purse.block_customer(customer_id=customer.id)).blocked is True
    assert (await c.customer_purse.unblock_customer(customer_id=customer.id)).blocked is False
    await c.customer_purse.get_address(customer_id=customer.id, currency="TRX")
    await c.customer_purse.list_purses(customer_id=customer.id)
    seeded = server.add_purse_transactions(customer.id, 250)
    await c.customer_purse.get_transaction(transaction_id=seeded[0]["id"])
    await c.customer_purse.find_transactions(customer_id=customer.id, page_size=10)
    ids = [tx.id async for tx in c.customer_purse.iter_transactions(customer_id=customer.id, page_size=100)]
    assert ids == [tx["id"] for tx in seeded]

    address = next(iter(state.settlement_wallets))
    await c.settlement_wallets.get(address=address)
    await c.settlement_wallets.find_transactions(wallet_address=address, page_size=5)
    count = sum(1 for record in state.settlement_transactions if record.extra["wallet"] == address)
    assert (
        len([tx async for tx in c.settlement_wallets.iter_transactions(wallet_address=address, page_size=7)]) == count
    )
    await c.settlement_reports.outgoing()
    await c.settlement_reports.incoming()
    await c.reports.payouts()
    await c.reports.invoices()

    hook = await c.webhooks.create(
        request_id=str(uuid.uuid4()), url="http://127.0.0.1:1/h", notification_service_types=["INVOICE"]
    )
    assert len((await c.webhooks.list()).subscriptions or []) == 1
    assert hook.request_id is not None
    await c.webhooks.delete(request_id=hook.request_id)
    assert server.webhooks.subscriptions() == []
    assert all(record.status == 200 for record in server.requests)
    assert len({record.operation for record in server.requests}) == 55
