"""The client contract for nghttp (Debian's nghttp2-client).

    conformance client --suite h2 'nghttp=python3 nghttp_h2.py {url}'

nghttp exits 0 even when the response was not accepted: after a stream reset, a malformed
response or a connection error it detected, it only writes "Some requests were not
processed" to standard error. This adapter runs it with the body on standard output and
turns that line into the contract's non-zero exit; nghttp's own non-zero exits pass through.

``--no-dep``: by default nghttp first sends PRIORITY frames for five "anchor" streams (3 to
11, RFC 7540's dependency tree) and opens its request on stream 13; with ``--no-dep`` the
request goes on stream 1, where the suite's cases answer.
"""

import subprocess
import sys

NOT_PROCESSED = b"Some requests were not processed"

done = subprocess.run(["nghttp", "--no-dep", sys.argv[1]], stdout=sys.stdout.buffer, stderr=subprocess.PIPE)
sys.stderr.buffer.write(done.stderr)
if done.returncode != 0:
    sys.exit(done.returncode)
if NOT_PROCESSED in done.stderr:
    sys.exit("rejected: nghttp did not process the request")
