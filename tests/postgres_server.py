"""A throwaway PostgreSQL server for a test session, or the one ``$TWINARENA_TEST_POSTGRES`` names.

:func:`start` runs ``initdb`` into a temporary folder and starts ``postgres`` on it: trust
authentication for the superuser ``postgres`` (password authentication for any other role, so a
wrong password can be tested), a unix socket in that folder plus ``127.0.0.1`` on a free port,
and no fsync. As root it runs PostgreSQL as the ``postgres`` user (PostgreSQL refuses to run as
root). :meth:`PostgresServer.stop` stops it (``pg_ctl stop -m immediate``) and deletes the folder;
should the test process die first, the server is killed with it (``setpriv --pdeathsig``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ENV_URL = "TWINARENA_TEST_POSTGRES"  # a SQLAlchemy URL: use this server instead of starting one
DRIVER = "postgresql+psycopg"
LIB_GLOB = "/usr/lib/postgresql/*/bin"  # Debian's and Ubuntu's versioned installs
SUPERUSER = "postgres"
RUN_AS = "postgres"  # the user the server runs as when the tests run as root
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
PORT_TRIES = 3  # another process may take the free port before the server binds it
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",  # a throwaway server: nothing to keep over a crash
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
}
HBA = """\
local all all trust
host all {superuser} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""
HOW_TO = (
    "install PostgreSQL (Debian: apt-get install --no-install-recommends postgresql; the tests start "
    f"their own server) or set ${ENV_URL} to the SQLAlchemy URL of a server where the user may create "
    f"databases, e.g. {DRIVER}://postgres@127.0.0.1:5432/postgres"
)


class Unavailable(RuntimeError):
    """No way to get a server here (no PostgreSQL binaries, no driver, no user to run it as)."""


def in_ci() -> bool:
    """Whether ``$CI`` is set: then a missing server fails the tests instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def external_url() -> str | None:
    """``$TWINARENA_TEST_POSTGRES`` with the driver set to psycopg, or None."""
    url = os.environ.get(ENV_URL, "").strip()
    if not url:
        return None
    from sqlalchemy import make_url

    return make_url(url).set(drivername=DRIVER).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    pg_ctl: Path
    postgres: Path


def find_binaries() -> Binaries | None:
    """``initdb``, ``pg_ctl`` and ``postgres`` from ``PATH``, else from the newest version in
    ``/usr/lib/postgresql/*/bin``; None when there are none."""
    names = ("initdb", "pg_ctl", "postgres")
    found = [shutil.which(name) for name in names]
    if all(found):
        return Binaries(*(Path(path).resolve() for path in found))

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name))

    for folder in sorted(Path("/").glob(LIB_GLOB.lstrip("/")), key=version, reverse=True):
        if all(os.access(folder / name, os.X_OK) for name in names):
            return Binaries(*(folder / name for name in names))
    return None


@dataclass
class PostgresServer:
    """A running throwaway server; :attr:`url` reaches it as the superuser (database ``postgres``)."""

    root: Path  # the data folder, the socket and the log
    port: int
    process: subprocess.Popen
    binaries: Binaries
    as_user: list[str]  # the command prefix that runs a program as the server's user
    env: dict[str, str]
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"{DRIVER}://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (immediate shutdown, nothing to keep) and delete its folder; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            stop = [str(self.binaries.pg_ctl), "stop", "-D", str(self.data), "-m", "immediate", "-w"]
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    [*self.as_user, *stop, "-t", str(STOP_TIMEOUT_S)],
                    env=self.env,
                    capture_output=True,
                    timeout=STOP_TIMEOUT_S + 5,
                )
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the server, the last resort (the postmaster's children exit when it dies)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_S)


def start() -> PostgresServer:
    """Start a throwaway server and wait until it accepts connections; it is stopped at exit at the
    latest. :class:`Unavailable` when this machine cannot run one, RuntimeError when it fails to start."""
    try:
        import psycopg
    except ImportError:  # the test extra has it
        install = "pip install -c constraints.txt 'psycopg[binary]'"
        raise Unavailable(f"psycopg is not installed: {install}") from None
    binaries = find_binaries()
    if binaries is None:
        raise Unavailable(f"no initdb, pg_ctl and postgres on PATH or in {LIB_GLOB}")
    as_user, server_prefix, owner = _run_as()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"  # messages in English, whatever the machine's locale
    root = Path(tempfile.mkdtemp(prefix="twinarena-pg-", dir=_temp_base(owner is not None)))
    try:
        if owner is not None:
            os.chown(root, *owner)
        initdb = [str(binaries.initdb), "-D", str(root / "data"), "-U", SUPERUSER, "-A", "trust"]
        initdb += ["-E", "UTF8", "--no-locale", "--no-sync"]
        done = subprocess.run([*as_user, *initdb], env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        hba = root / "data" / "pg_hba.conf"
        hba.write_text(HBA.format(superuser=SUPERUSER))
        if owner is not None:
            os.chown(hba, *owner)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    for attempt in range(1, PORT_TRIES + 1):
        server = _launch(binaries, root, _free_port(), as_user, server_prefix, env)
        try:
            ready = _wait_ready(server, psycopg)
        except BaseException:
            server.stop()
            raise
        if ready:
            atexit.register(server.stop)  # should the session end without its teardown
            return server
        log = server.log()
        server.kill()
        if "Address already in use" not in log or attempt == PORT_TRIES:
            server.stop()
            raise RuntimeError(
                f"PostgreSQL did not start (waited up to {START_TIMEOUT_S} s); its log:\n{log[-4000:]}"
            )
        (root / "postgres.log").unlink()  # the port was taken meanwhile: try another
    raise AssertionError("unreachable")


def _run_as() -> tuple[list[str], list[str], tuple[int, int] | None]:
    """Command prefixes that run a program as the server's user (one that also kills the server when
    this process dies), and that user's uid and gid when it is not this process's own."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        return [], [setpriv, "--pdeathsig=KILL", "--"] if setpriv else [], None
    try:
        user = pwd.getpwnam(RUN_AS)
    except KeyError:
        raise Unavailable(f"running as root, and there is no {RUN_AS!r} user to run PostgreSQL as") from None
    owner = (user.pw_uid, user.pw_gid)
    if setpriv:
        prefix = [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
        return [*prefix, "--"], [*prefix, "--pdeathsig=KILL", "--"], owner
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", RUN_AS, "--"], [runuser, "-u", RUN_AS, "--"], owner
    raise Unavailable(f"running as root, without setpriv or runuser to run PostgreSQL as {RUN_AS!r}")


def _temp_base(other_user: bool) -> str:
    """Where the server's folder goes: the usual temporary folder, unless the server's user could not
    reach it or the socket's path would be too long (the limit is 107 bytes)."""
    base = tempfile.gettempdir()
    if len(base) > 60 or (other_user and not _world_searchable(Path(base))):
        return "/tmp"
    return base


def _world_searchable(folder: Path) -> bool:
    return all(os.stat(part).st_mode & 0o001 for part in (folder, *folder.parents))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(binaries, root, port, as_user, server_prefix, env) -> PostgresServer:
    settings = {**SETTINGS, "port": str(port), "unix_socket_directories": str(root)}
    command = [*server_prefix, str(binaries.postgres), "-D", str(root / "data")]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    with open(root / "postgres.log", "ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a ^C reaches pytest, which stops the server after the teardowns
        )
    return PostgresServer(root, port, process, binaries, as_user, env)


def _wait_ready(server: PostgresServer, psycopg) -> bool:
    """Whether the server accepts connections before the deadline (False as soon as it exits)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with psycopg.connect(
                host="127.0.0.1", port=server.port, user=SUPERUSER, dbname="postgres", connect_timeout=2
            ) as connection:
                data = connection.execute("SHOW data_directory").fetchone()[0]
        except psycopg.Error:
            data = None
        if data is not None and Path(data).resolve() == server.data.resolve():  # not another server's port
            return True
        time.sleep(0.05)
    return False
