"""A throw-away PostgreSQL server for the tests and benchmarks (started, then stopped).

initdb refuses to run as root, and CI runs as root: the server then runs as
the unprivileged OS user ``postgres`` (``runuser``), in a temporary directory
it owns, listening on a unix socket only (no port to collide with).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path


def find_bin(name: str) -> str | None:
    """The path of a PostgreSQL program (initdb, pg_ctl), or None.

    Looks in /usr/local/bin, on PATH, then in Debian's versioned directories
    (/usr/lib/postgresql/<version>/bin, newest first).
    """
    local = Path("/usr/local/bin") / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        found = str(debian[-1]) if debian else None
    return found


def missing_reason() -> str | None:
    """Why no server can start here (None: it can)."""
    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        return "no PostgreSQL binaries (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return None


class Server:
    """A PostgreSQL cluster in a temporary directory, on a unix socket."""

    def __init__(self, settings: Sequence[str] = ("fsync=off",)) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="omnistock-pg-"))
        self.settings = list(settings)
        self.user: str | None = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.dir, self.user)
            os.chmod(self.dir, 0o700)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    @property
    def dsn(self) -> str:
        """The libpq DSN of the server's postgres database."""
        return f"host={self.dir} dbname=postgres user=postgres"

    def start(self) -> Server:
        """initdb and start the server; returns self."""
        data = str(self.dir / "data")
        self._run(
            str(find_bin("initdb")), "-D", data, "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        opts = " ".join(
            [f"-k {self.dir}", "-c listen_addresses=''", "-c max_connections=300"]
            + [f"-c {s}" for s in self.settings]
        )
        self._run(
            str(find_bin("pg_ctl")), "-D", data, "-o", opts, "-l",
            str(self.dir / "log"), "-w", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        try:
            self._run(
                str(find_bin("pg_ctl")), "-D", str(self.dir / "data"), "-m", "fast",
                "-w", "stop",
            )  # fmt: skip
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


_shared: list[Server] = []


def shared_dsn() -> str:
    """The DSN of this process's test server, started on first use, stopped at exit."""
    if not _shared:
        server = Server().start()
        atexit.register(server.stop)
        _shared.append(server)
    return _shared[0].dsn
