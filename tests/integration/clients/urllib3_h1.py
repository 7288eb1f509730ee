"""The client contract for urllib3 (http.client underneath), without retries or redirects.

conformance client --suite h1 'urllib3=python3 urllib3_h1.py {url}'
"""

import sys

import urllib3

try:
    with urllib3.PoolManager(retries=False, timeout=30) as pool:
        response = pool.request("GET", sys.argv[1], redirect=False, preload_content=False)
        body = response.read()
except urllib3.exceptions.HTTPError as exc:  # a response it refused, or cut short
    sys.exit(f"rejected: {exc!r}")
sys.stdout.buffer.write(body)
