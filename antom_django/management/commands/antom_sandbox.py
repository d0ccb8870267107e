"""``manage.py antom_sandbox``: run the sandbox simulator, trusting this project's merchant key."""

from __future__ import annotations

import argparse
import contextlib
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from antom_django.client.errors import ConfigurationError
from antom_django.client.keys import public_der_b64
from antom_django.conf import antom_settings
from antom_django.sandbox.cli import add_arguments, banner, build_server
from antom_django.sandbox.config import DEFAULT_CLIENT_ID


class Command(BaseCommand):
    help = (
        "Run the local Antom sandbox simulator (gateway API, hosted checkout, web SDK stand-in). "
        "It trusts the public half of ANTOM['PRIVATE_KEY'] for ANTOM['CLIENT_ID']."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser, verbose_flag=False)

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(
            level=logging.INFO if options["verbosity"] > 1 else logging.WARNING, format="%(asctime)s %(message)s"
        )
        if options["client_id"] == DEFAULT_CLIENT_ID and antom_settings.CLIENT_ID:
            options["client_id"] = antom_settings.CLIENT_ID
        merchant_key = None
        if not options["merchant_public_key"]:
            with contextlib.suppress(ConfigurationError):
                merchant_key = antom_settings.merchant_private_key.public_key()
        try:
            server, shop_settings = build_server(argparse.Namespace(**options), merchant_key)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        if merchant_key is not None:
            shop_settings["PRIVATE_KEY"] = "(unchanged: your ANTOM['PRIVATE_KEY'])"
        banner(server, shop_settings, self.stdout)
        try:
            current = public_der_b64(antom_settings.antom_public_key)
        except ConfigurationError:
            current = None
        if current != server.antom_public_key_b64:
            self.stdout.write(
                self.style.WARNING(
                    "ANTOM['ANTOM_PUBLIC_KEY'] is not this simulator's key: set it as shown above "
                    "(or ANTOM_PUBLIC_KEY_FILE to antom_sandbox_public_key.pem in --keys-dir)."
                )
            )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
