"""The client contract for httpx over HTTP/1.1 (httpcore with h11).

conformance client --suite h1 'httpx=python3 httpx_h1.py {url}'
"""

import sys

import httpx

try:
    with httpx.Client(timeout=30) as client:
        body = client.get(sys.argv[1]).read()
except httpx.HTTPError as exc:  # a response it refused, or cut short
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
