"""The benchmarks' own PostgreSQL database: created and migrated when missing, dropped when the run made it."""

from __future__ import annotations

from typing import Any


def _admin(alias: str = "default") -> Any:
    """An autocommit connection to the server's ``postgres`` database (CREATE / DROP DATABASE)."""
    import psycopg
    from django.conf import settings

    url = settings.DATABASES[alias]
    return psycopg.connect(
        host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"], dbname="postgres", autocommit=True
    )


def create_and_migrate(alias: str = "default") -> bool:
    """Create the settings' database ``alias`` if it is missing, set Django up and migrate it; True if this run
    created it."""
    import django
    import psycopg
    from django.conf import settings

    url = settings.DATABASES[alias]
    created = False
    try:
        psycopg.connect(host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"], dbname=url["NAME"]).close()
    except psycopg.OperationalError:
        created = True
        with _admin(alias) as admin:
            admin.execute(f'CREATE DATABASE "{url["NAME"]}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", database=alias, verbosity=0)
    return created


def drop_database(alias: str = "default") -> None:
    """Drop the bench database ``alias`` this run created, so `make test` leaves no database behind."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    with _admin(alias) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{settings.DATABASES[alias]["NAME"]}" WITH (FORCE)')
