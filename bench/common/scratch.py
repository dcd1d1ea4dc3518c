"""The scratch databases a benchmark (or a test that runs processes of its own)
makes and drops: a SQLite file, or a PostgreSQL database on 127.0.0.1:5432
(user postgres) or on the server of ``server_url``, never the project's own."""

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class ScratchDatabase:
    def __init__(self, sqlite_path, postgres_name, server_url=POSTGRES_SERVER_URL):
        self.sqlite_path = Path(sqlite_path)
        self.postgres_name = postgres_name
        self.server = urlsplit(server_url)

    def url(self, database):
        if database == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return urlunsplit(self.server._replace(path=f"/{self.postgres_name}", query=""))

    def drop(self, database):
        if database == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            return
        self._admin(f"DROP DATABASE IF EXISTS {self.postgres_name} WITH (FORCE)")

    def create(self, database):
        """An empty database, dropping any left from before."""
        self.drop(database)
        if database == "postgres":
            self._admin(f"CREATE DATABASE {self.postgres_name}")

    def exists(self, database):
        if database == "sqlite":
            return self.sqlite_path.exists()
        found = self._admin("SELECT 1 FROM pg_database WHERE datname = %s", [self.postgres_name])
        return bool(found)

    def _admin(self, sql, params=None):
        import psycopg

        admin_url = urlunsplit(self.server._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as admin:
            cursor = admin.execute(sql, params)
            return cursor.fetchall() if cursor.description else None
