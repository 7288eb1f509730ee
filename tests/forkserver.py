r"""Start a Python client per case in about 10 ms instead of 100 to 700: a fork server.

The client fault matrix (``faulty/test_client_faults.py``) and the real clients' pins
(``integration/real_clients.py``) start a client process per case, thousands of them; most of
each start is the interpreter importing the same modules (aiohttp alone takes 0.6 s) and
compiling the same script again. Here one server process imports them once, and each case's
command is a small launcher that the harness starts as it starts any client:

    python -I -S launch.py SOCKET PROGRAM [ARG]...

The launcher (``launch.py``) passes its standard input, output and error and its arguments to
the server over a Unix socket; the server forks, and the child runs ``PROGRAM`` as
``__main__`` on the launcher's files: a module as ``python -m MODULE ARG...`` would, a script
(a path ending in ``.py``) as ``python SCRIPT ARG...`` would; the launcher exits with the
child's status.
So what the harness sees is what it sees of any client: a process in a session of its own
that writes to its output and exits with a status. When the harness kills the launcher, the
server sees its end of the socket close and kills the child, so no client outlives its case.

The server (``python forkserver.py SOCKET [--path DIR]... [--preload MODULE]... PROGRAM...``)
is run by :func:`running`, which stops it and every child still running when the test is
done. A script's own imports are not run ahead (the script runs only in the child): the
modules it needs are ``--preload``\ ed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any


def serve(path: str, names: list[str], preload: Sequence[str] = ()) -> None:  # noqa: C901 - one event loop, read whole
    """Import ``preload`` and the modules of ``names``, then fork a child per launcher until
    SIGTERM or standard input closes; every child still running is killed on the way out."""
    import importlib.util
    import selectors
    import signal

    for name in preload:
        importlib.import_module(name)
    # What each module imports is imported here once; the module itself runs in the child, as
    # __main__, from its code compiled here once. A script is compiled only.
    programs: dict[str, tuple[Any, Any]] = {}
    for name in names:
        if name.endswith(".py"):
            with open(name, "rb") as source:
                programs[name] = (name, compile(source.read(), name, "exec"))
            continue
        importlib.import_module(name)
        spec = importlib.util.find_spec(name)
        programs[name] = (spec, spec.loader.get_code(name))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path + ".new")
    listener.listen(512)
    os.rename(path + ".new", path)  # the path appears once it accepts
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "stop")
    wake, wake_up = os.pipe()
    os.set_blocking(wake_up, False)
    signal.set_wakeup_fd(wake_up)
    signal.signal(signal.SIGTERM, lambda *_: None)
    selector.register(wake, selectors.EVENT_READ, "stop")
    children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (launcher, pidfd)

    def finish(pid: int) -> None:
        launcher, pidfd = children.pop(pid)
        _, status = os.waitpid(pid, 0)
        with contextlib.suppress(OSError):  # the launcher may have been killed first
            launcher.send(os.waitstatus_to_exitcode(status).to_bytes(4, "big", signed=True))
        selector.unregister(pidfd)
        if launcher.fileno() in selector.get_map():
            selector.unregister(launcher)
        launcher.close()
        os.close(pidfd)

    try:
        while True:
            for key, _ in selector.select():
                if key.data == "stop":
                    return
                if key.data == "accept":
                    launcher, _ = listener.accept()
                    pid = _fork(launcher, programs)
                    if pid is None:
                        launcher.close()
                        continue
                    pidfd = os.pidfd_open(pid)
                    children[pid] = (launcher, pidfd)
                    selector.register(launcher, selectors.EVENT_READ, ("launcher", pid))
                    selector.register(pidfd, selectors.EVENT_READ, ("exited", pid))
                    continue
                kind, pid = key.data
                if pid not in children:
                    continue
                if kind == "launcher":
                    # The launcher's end closed (it was killed): so is its child, now; its
                    # exit is reaped when its pidfd says so.
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    selector.unregister(key.fileobj)
                else:
                    finish(pid)
    finally:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        listener.close()
        os.unlink(path)


def _fork(launcher: socket.socket, programs: dict[str, tuple[Any, Any]]) -> int | None:
    """Fork the child for one launcher's request; its pid (None for a request cut short)."""
    request, fds, _, _ = socket.recv_fds(launcher, 1 << 16, 3)
    if len(fds) != 3 or not request:
        for fd in fds:
            os.close(fd)
        return None
    module, *args = request.decode("utf-8", "surrogateescape").split("\0")
    if module not in programs:
        os.write(fds[2], f"forkserver: {module} is not one of {sorted(programs)}\n".encode())
        for fd in fds:
            os.close(fd)
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    code: object = 1
    try:
        import signal
        import types

        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        # Nothing of the server's stays open in the child: not its socket, nor other
        # launchers' (whose end must close when their own child ends).
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        spec, compiled = programs[module]
        origin = spec if isinstance(spec, str) else spec.origin  # a script's path, or a module's
        sys.argv = [origin, *args]
        main = types.ModuleType("__main__")
        main.__file__, main.__spec__ = origin, None if isinstance(spec, str) else spec
        sys.modules["__main__"] = main
        try:
            exec(compiled, main.__dict__)
            code = 0
        except SystemExit as exit_:
            code = exit_.code
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the child is ending either way
                stream.flush()
        os._exit(code)


@contextlib.contextmanager
def running(
    programs: list[str], paths: list[str], preload: list[str] | None = None
) -> Iterator[Callable[[str, list[str]], str]]:
    """A fork server ready to run ``programs`` (modules, or scripts by their paths ending in
    ``.py``) with ``preload`` imported (``paths`` first on its ``sys.path``), as a function of
    a program and its arguments to the command that runs it through the server."""
    import shlex
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="forkserver-") as directory:
        path = os.path.join(directory, "socket")
        options = [word for directory_ in paths for word in ("--path", directory_)]
        options += [word for module in preload or () for word in ("--preload", module)]
        server = subprocess.Popen(
            [sys.executable, __file__, path, *options, *programs], stdin=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 60
            while not os.path.exists(path):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fork server did not start (exit status {server.poll()})")
                time.sleep(0.02)
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")
            launcher = f"{shlex.quote(sys.executable)} -I -S {shlex.quote(script)} {shlex.quote(path)}"

            def command(module: str, args: list[str]) -> str:
                # {url} and the like stay as they are, for the harness to fill in.
                return " ".join([launcher, shlex.quote(module), *args])

            yield command
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    socket_path, rest = sys.argv[1], sys.argv[2:]
    preloaded: list[str] = []
    while rest[:1] in (["--path"], ["--preload"]):
        if rest[0] == "--path":
            sys.path.insert(0, rest[1])
        else:
            preloaded.append(rest[1])
        rest = rest[2:]
    serve(socket_path, rest, preloaded)
