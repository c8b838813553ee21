"""AsyncEcrClient against the emulated terminal: the same commands, awaited; concurrent callers
take turns on the link."""

import asyncio

from hostbridge.aio import AsyncEcrClient


def test_async_client(emulator_tcp):
    async def main():
        async with AsyncEcrClient(emulator_tcp.cashier) as ecr:
            sale = await ecr.sale(1_200_000, "A-1", "7")
            balance, status = await asyncio.gather(ecr.balance(), ecr.status("A-1"))
            return sale, balance, status

    sale, balance, status = asyncio.run(main())
    assert sale.ok and sale.payable == 1_025_000
    assert balance.ok and status.ok and status.rrn == sale.rrn
