"""The launcher of a client run by the fork server (``forkserver.py``):

    python -I -S launch.py SOCKET PROGRAM [ARG]...

It hands its standard input, output and error and its arguments to the server, waits for the
child that runs ``PROGRAM`` (a module, or a script's path) on them, and exits with the child's status (128 + the signal that
ended it, as a shell reports it). Kept to what the interpreter has loaded at start and the
C socket module, since it runs once per case: about 10 ms where the client itself took 100.
"""

import _socket
import sys


def main(argv: list[str]) -> int:
    path, module, *args = argv
    server = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    server.connect(path)
    request = "\0".join([module, *args]).encode("utf-8", "surrogateescape")
    files = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
    server.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, files)])
    reply = server.recv(4)
    if len(reply) != 4:
        sys.stderr.write(f"launch: no exit status for {module} (the fork server ended?)\n")
        return 70
    code = int.from_bytes(reply, "big", signed=True)
    return code if code >= 0 else 128 - code


sys.exit(main(sys.argv[1:]))
