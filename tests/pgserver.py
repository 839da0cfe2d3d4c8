"""Throwaway PostgreSQL server for tests and benchmarks.

Started from the machine's PostgreSQL binaries on a loopback port; nothing is downloaded.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import psycopg
from psycopg import sql

__all__ = ["ThrowawayPostgres", "find_pg_bindir"]

BINDIR_ENV = "STOCKCARD_PG_BINDIR"
PG_USER = "postgres"
DEFAULT_DATABASE = "stockcard"
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. "
    "Install Debian's `postgresql` package (apt-get install postgresql) or set "
    f"{BINDIR_ENV} to the directory holding initdb and pg_ctl."
)
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
_PORT_ATTEMPTS = 3


def _has_server_binaries(directory: Path) -> bool:
    return all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _version_key(directory: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: compare "9.6" < "15" numerically, not as strings.
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def find_pg_bindir() -> Path:
    """Return the directory holding initdb and pg_ctl, or raise RuntimeError."""
    override = os.environ.get(BINDIR_ENV)
    if override:
        path = Path(override)
        if not _has_server_binaries(path):
            raise RuntimeError(f"{BINDIR_ENV}={override} does not hold initdb, pg_ctl and postgres")
        return path

    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        # Debian's pg_config comes from libpq-dev and may point at a directory without the server.
        if out and _has_server_binaries(Path(out)):
            return Path(out)

    candidates = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_server_binaries(d)]
    if candidates:
        return max(candidates, key=_version_key)

    initdb = shutil.which("initdb")
    if initdb:
        # Resolve symlinks such as /usr/local/bin/initdb so pg_ctl and postgres sit alongside.
        directory = Path(initdb).resolve().parent
        if _has_server_binaries(directory):
            return directory

    raise RuntimeError(_INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary directory, removed again on stop().

    durable=False (tests) turns off fsync and friends for speed; durable=True (benchmarks)
    keeps PostgreSQL's crash-safe defaults so commit costs are realistic.
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.bindir: Path | None = None
        self.port: int | None = None
        self.tmpdir: Path | None = None
        self._url: str | None = None
        self._as_root = os.geteuid() == 0

    @property
    def datadir(self) -> Path:
        return self._require_tmpdir() / "data"

    @property
    def sockdir(self) -> Path:
        return self._require_tmpdir() / "sock"

    @property
    def logfile(self) -> Path:
        return self._require_tmpdir() / "server.log"

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        return self._url

    def url_for(self, dbname: str) -> str:
        if self.port is None:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def start(self) -> str:
        if self._url is not None:
            return self._url
        self.bindir = find_pg_bindir()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="stockcard-pg-"))
        atexit.register(self.stop)
        try:
            self._prepare_dirs()
            self._initdb()
            self._start_server()
            self._url = self.url_for(DEFAULT_DATABASE)
            self._create(DEFAULT_DATABASE)
        except BaseException:
            self.stop()
            raise
        return self._url

    def create_database(self, name: str) -> str:
        """Create an empty database on this server and return its URL."""
        if self._url is None:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        self._create(name)
        return self.url_for(name)

    def stop(self) -> None:
        tmpdir, self.tmpdir = self.tmpdir, None
        self._url = None
        self.port = None
        atexit.unregister(self.stop)
        if tmpdir is None:
            return
        datadir = tmpdir / "data"
        if self.bindir is not None and (datadir / "postmaster.pid").exists():
            # Best effort: the server may already be gone, and stop() runs from atexit too.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    self._as_pg_user(
                        [str(self.bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]
                    ),
                    cwd=tmpdir,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=90,
                    check=False,
                )
        shutil.rmtree(tmpdir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"ThrowawayPostgres(durable={self.durable}, {state})"

    def _require_tmpdir(self) -> Path:
        if self.tmpdir is None:
            raise RuntimeError("ThrowawayPostgres is not running; call start() first")
        return self.tmpdir

    def _prepare_dirs(self) -> None:
        self.sockdir.mkdir()
        if not self._as_root:
            return
        try:
            user = pwd.getpwnam(PG_USER)
        except KeyError:
            raise RuntimeError(
                f"running as root, but there is no `{PG_USER}` system user to run PostgreSQL as "
                "(PostgreSQL refuses to run as root). " + _INSTALL_HINT
            ) from None
        # initdb creates DATA itself, so only the temp dir and the socket dir need handing over.
        for path in (self.tmpdir, self.sockdir):
            os.chown(path, user.pw_uid, user.pw_gid)
        # mkdtemp's parent (e.g. a TMPDIR under /root) must be traversable by that user too.
        for parent in self._require_tmpdir().parents:
            st = parent.stat()
            if st.st_uid != user.pw_uid and not st.st_mode & 0o001:
                raise RuntimeError(
                    f"{parent} is not traversable by the `{PG_USER}` user, so it cannot reach "
                    f"{self.tmpdir}; point TMPDIR at a world-traversable directory such as /tmp"
                )

    def _initdb(self) -> None:
        cmd = [
            str(self._bin("initdb")),
            *("-D", str(self.datadir), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C"),
        ]
        if not self.durable:
            cmd.append("--no-sync")
        self._run(cmd, what="initdb")

    def _start_server(self) -> None:
        settings = [
            "listen_addresses=127.0.0.1",
            "max_connections=100",
            *([] if self.durable else _FAST_SETTINGS),
        ]
        for attempt in range(_PORT_ATTEMPTS):
            self.port = _free_port()
            options = ["-p", str(self.port), "-k", str(self.sockdir)]
            for setting in settings:
                options += ["-c", setting]
            cmd = [
                str(self._bin("pg_ctl")),
                *("-D", str(self.datadir), "-w", "-t", "60", "-l", str(self.logfile)),
                *("-o", shlex.join(options), "start"),
            ]
            try:
                self._run(cmd, what="pg_ctl start")
                return
            except RuntimeError:
                # Another process can take the port between _free_port() and the bind; retry.
                if attempt + 1 < _PORT_ATTEMPTS and "already in use" in _tail(self.logfile):
                    continue
                raise

    def _create(self, name: str) -> None:
        try:
            with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise RuntimeError(
                f"CREATE DATABASE {name} failed on {self.url_for('postgres')}: {exc}\n"
                f"--- server log tail ---\n{_tail(self.logfile)}"
            ) from exc

    def _bin(self, name: str) -> Path:
        if self.bindir is None:
            raise RuntimeError("PostgreSQL bindir not located yet")
        return self.bindir / name

    def _as_pg_user(self, cmd: Sequence[str]) -> list[str]:
        if not self._as_root:
            return list(cmd)
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", PG_USER, "--", *cmd]
        return ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]

    def _run(self, cmd: Sequence[str], *, what: str) -> None:
        full = self._as_pg_user(cmd)
        try:
            # cwd inside the temp dir: the postgres user may not be able to enter the caller's cwd.
            result = subprocess.run(
                full,
                cwd=self.tmpdir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise RuntimeError(f"{what} failed: {shlex.join(full)}\n{exc}") from exc
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed (exit {result.returncode}): {shlex.join(full)}\n"
                f"--- output ---\n{result.stdout}{result.stderr}\n"
                f"--- server log tail ---\n{_tail(self.logfile)}"
            )
