"""AsyncEcrClient against the emulated terminal: the same commands, awaited; concurrent callers
take turns on the link."""

import asyncio

from hostbridge.aio import AsyncEcrClient


def test_async_client(emulator_tcp):
    async def main():
        async with AsyncEcrClient(emulator_tcp.cashier) as ecr:
            sale = await ecr.sale(1_200_000, "A-1", "7")
            balance, status = await asyncio.gather(ecr.balance(), ecr.status("A-1"))
            topup = await ecr.topup(200_000, "A-2", "7")
            return sale, balance, status, topup

    sale, balance, status, topup = asyncio.run(main())
    assert sale.ok and sale.payable == 1_025_000
    assert topup.ok and topup.command == "topup" and topup.club_balance > balance.club_balance
    assert balance.ok and status.ok and status.rrn == sale.rrn
