"""The client contract for aiohttp's client, without redirects.

conformance client --suite h1 'aiohttp=python3 aiohttp_h1.py {url}'
"""

import asyncio
import sys

import aiohttp


async def fetch(url: str) -> bytes:
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        return await response.read()


try:
    body = asyncio.run(fetch(sys.argv[1]))
except (TimeoutError, aiohttp.ClientError) as exc:  # a response it refused, or cut short
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
