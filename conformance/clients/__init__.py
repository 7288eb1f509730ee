"""Reference clients: what ``conformance client`` judges when given no command.

Each follows the client contract (README, "Client mode"): given ``{url}``, it sends one
request, writes the response body to standard output, and exits 0 when it accepted the
response, non-zero when it rejected it. Like the reference target, they are built on the
sans-IO libraries (h11 here) and show that every client case can PASS.
"""
