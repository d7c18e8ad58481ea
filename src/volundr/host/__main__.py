"""Entry point: `python -m volundr.host`.

Reads its launch spec (JSON, see `volundr.host.spec`) from stdin until EOF, then points
stdin at /dev/null; takes `VOLUNDR_HOST_FD` (a listening TCP socket on 127.0.0.1) out of the
environment, and runs the supervisor. The spec (with the session token) never enters the
environment, which the agent, running as the same user, could read in /proc.
Exit status: 0 after a stop, 1 after a fatal error, 2 for a bad invocation.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys

from volundr.host.procs import become_subreaper


def main() -> int:
    become_subreaper()
    from volundr.host.logwriter import JsonLinesHandler, LogWriter
    from volundr.host.spec import FD_ENV, SESSION_MARKER_ENV, SpecError, parse_spec
    from volundr.host.supervisor import Supervisor

    raw_fd = os.environ.pop(FD_ENV, None)
    raw_spec = _read_stdin()
    if not raw_spec or raw_fd is None or not raw_fd.isdigit():
        print(f"volundr.host: a spec on stdin and {FD_ENV} are required", file=sys.stderr)
        return 2
    try:
        spec = parse_spec(raw_spec)
    except SpecError as exc:
        print(f"volundr.host: {exc}", file=sys.stderr)
        return 2
    os.environ[SESSION_MARKER_ENV] = spec.launch.session_id
    sock = socket.socket(fileno=int(raw_fd))
    writer = LogWriter(spec.log_path, spec.max_log_bytes)
    root = logging.getLogger()
    root.addHandler(JsonLinesHandler(writer))
    root.setLevel(logging.INFO)
    try:
        return asyncio.run(Supervisor(spec, sock, writer).run())
    finally:
        writer.close()


def _read_stdin() -> str:
    """Everything on stdin (the runtime closes the pipe after the spec), then /dev/null."""
    try:
        data = sys.stdin.buffer.read()
    except (OSError, ValueError):
        data = b""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return data.decode("utf-8", errors="replace")


if __name__ == "__main__":
    sys.exit(main())
