"""Entry point: `python -m volundr.host`.

Reads `VOLUNDR_HOST_SPEC` (JSON, see `volundr.host.spec`) and `VOLUNDR_HOST_FD` (a
listening TCP socket on 127.0.0.1), removes both from the environment, and runs the
supervisor. Exit status: 0 after a stop, 1 after a fatal error, 2 for a bad invocation.
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
    from volundr.host.spec import FD_ENV, SESSION_MARKER_ENV, SPEC_ENV, SpecError, parse_spec
    from volundr.host.supervisor import Supervisor

    raw_spec = os.environ.pop(SPEC_ENV, None)
    raw_fd = os.environ.pop(FD_ENV, None)
    if raw_spec is None or raw_fd is None or not raw_fd.isdigit():
        print(f"volundr.host: {SPEC_ENV} and {FD_ENV} are required", file=sys.stderr)
        return 2
    try:
        spec = parse_spec(raw_spec)
    except SpecError as exc:
        print(f"volundr.host: {exc}", file=sys.stderr)
        return 2
    os.environ[SESSION_MARKER_ENV] = spec.launch.session_id
    sock = socket.socket(fileno=int(raw_fd))
    writer = LogWriter(spec.log_path)
    root = logging.getLogger()
    root.addHandler(JsonLinesHandler(writer))
    root.setLevel(logging.INFO)
    try:
        return asyncio.run(Supervisor(spec, sock, writer).run())
    finally:
        writer.close()


if __name__ == "__main__":
    sys.exit(main())
