"""The client contract for httpx with h2, as the README gives it (prior knowledge).

conformance client --suite h2 'httpx=python3 httpx_h2.py {url}'
"""

import sys

import httpx

try:
    with httpx.Client(http1=False, http2=True, timeout=30) as client:  # prior knowledge
        body = client.get(sys.argv[1]).read()
except httpx.HTTPError as exc:  # a response it refused, or cut short
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
