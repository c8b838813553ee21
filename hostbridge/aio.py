"""The asyncio client: the same commands as EcrClient, awaitable.

    async with AsyncEcrClient("socket://127.0.0.1:9100") as ecr:
        result = await ecr.sale(1_200_000, invoice="INV-1001", cashier="07")

pyserial's ports are blocking, so each exchange runs in a worker thread (asyncio.to_thread) and
an asyncio.Lock keeps them one at a time, as the link requires (one command in flight): the
event loop stays free while a customer pays, and a second caller waits its turn instead of
interleaving frames. Timeouts, recovery and errors are EcrClient's (hostbridge/client.py).
"""

import asyncio

from hostbridge.client import EcrClient


class AsyncEcrClient:
    def __init__(self, url, baudrate=115200, timers=None, log=None):
        self.client = EcrClient(url, baudrate, timers, log)
        self._lock = asyncio.Lock()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _run(self, method, *args, **kwargs):
        async with self._lock:
            return await asyncio.to_thread(getattr(self.client, method), *args, **kwargs)

    async def close(self):
        async with self._lock:
            self.client.close()

    async def sale(self, amount, invoice, cashier, method=None, coupon=None, split=None):
        return await self._run("sale", amount, invoice, cashier, method, coupon, split)

    async def balance(self, cashier=None, invoice=None):
        return await self._run("balance", cashier, invoice)

    async def refund(self, amount, invoice, cashier, original_rrn, account=None):
        return await self._run("refund", amount, invoice, cashier, original_rrn, account)

    async def void(self, invoice, cashier, original_invoice=None):
        return await self._run("void", invoice, cashier, original_invoice)

    async def status(self, invoice):
        return await self._run("status", invoice)

    async def settlement(self, invoice, cashier=None):
        return await self._run("settlement", invoice, cashier)

    async def topup(self, amount, invoice, cashier):
        return await self._run("topup", amount, invoice, cashier)

    async def print_text(self, text):
        return await self._run("print_text", text)

    async def show_text(self, text, seconds=None):
        return await self._run("show_text", text, seconds)

    async def request(self, command, fields, recover=True):
        return await self._run("request", command, fields, recover)
