"""A throwaway PostgreSQL cluster for the tests, on a unix socket in a temporary directory.

Started by the tests (never the system's own service): `initdb` into a new directory, then
`pg_ctl start` with no TCP listener, `fsync=off` (the data is thrown away). PostgreSQL
refuses to run as root, so as root (CI) the cluster's directory belongs to `nobody` and the
commands run through `runuser -u nobody`. Each test gets a database of its own
(`Cluster.new_database`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

USER = "helpdesk"


def binaries() -> Path | None:
    """The directory with `initdb` and `pg_ctl`, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


def postgres_available() -> str | None:
    """Why a test cluster cannot start here, or None when it can."""
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as another user"
    return None


class Cluster:
    def __init__(self, root: Path, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        self.data = root / "data"
        self.bin = binaries()
        self._names = itertools.count(1)
        self._owner: str | None = "nobody" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if self._owner:
            command = ["runuser", "-u", self._owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._owner:
            entry = pwd.getpwnam(self._owner)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8",
                  "--no-sync", "--locale=C")  # fmt: skip
        fsync = "on" if self.fsync else "off"
        options = f"-k {self.root} -c listen_addresses='' -c fsync={fsync} -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.root}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.split("@/", 1)[1].split("?")[0]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(fsync: bool = False) -> Cluster:
    """A started cluster; `fsync=False` (the tests) skips waiting for the disk."""
    # Not under pytest's tmp_path: its parents are root's alone, where `nobody` cannot go.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="helpdesk-pg-")), fsync)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
