"""The scratch databases a benchmark makes and drops: a SQLite file in /tmp, or a
PostgreSQL database on 127.0.0.1:5432 (user postgres), never the project's own."""

from pathlib import Path

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class ScratchDatabase:
    def __init__(self, sqlite_path, postgres_name):
        self.sqlite_path = Path(sqlite_path)
        self.postgres_name = postgres_name

    def url(self, database):
        if database == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"postgres://postgres@127.0.0.1:5432/{self.postgres_name}"

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

    @staticmethod
    def _admin(sql, params=None):
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            cursor = admin.execute(sql, params)
            return cursor.fetchall() if cursor.description else None
