"""A fresh PostgreSQL database for a test module, on the server whose URL is in $STRATOTRACK_TEST_POSTGRES
(``.ci/run`` starts one).  Without it the test fails in CI (CI=true) and is skipped elsewhere."""

from __future__ import annotations

import os
import secrets

import pytest

ENV = "STRATOTRACK_TEST_POSTGRES"


def postgres_url():
    url = os.environ.get(ENV)
    if not url:
        msg = f"${ENV} is not set: no PostgreSQL server for the service tests (.ci/run starts one)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return url


class TempDatabase:
    def __init__(self):
        import psycopg

        self.admin = postgres_url()
        self.name = "st_test_" + secrets.token_hex(4)
        with psycopg.connect(self.admin, autocommit=True) as con:
            con.execute(f'create database "{self.name}"')
        base, _, _ = self.admin.rpartition("/")
        self.url = f"{base}/{self.name}"

    def drop(self):
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as con:
            con.execute(f'drop database if exists "{self.name}" with (force)')
