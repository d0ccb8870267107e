"""``manage.py antom_sandbox``: run the sandbox simulator, trusting this project's merchant key.

``--init`` only writes the simulator's key pair and exits, so the ``ANTOM_PUBLIC_KEY_FILE``
the quickstart's settings name exists before ``migrate`` runs the system checks.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from antom_django.client.errors import ConfigurationError
from antom_django.client.keys import public_der_b64
from antom_django.conf import antom_settings
from antom_django.sandbox.cli import add_arguments, banner, build_server
from antom_django.sandbox.config import DEFAULT_CLIENT_ID
from antom_django.sandbox.server import SIMULATOR_KEY_FILE, load_or_create_key, write_public_key

DEFAULT_KEYS_DIR = ".antom-sandbox"
PUBLIC_KEY_FILE = "antom_sandbox_public_key.pem"  # the name the simulator writes its public half under


def keys_dir_from_settings() -> Path:
    """Where the simulator's keys go when ``--keys-dir`` is not given.

    The directory of ``ANTOM_PUBLIC_KEY_FILE`` when it names the simulator's public key
    file, so ``--init``, the running simulator and the settings agree on one place
    whatever the working directory; otherwise ``.antom-sandbox``.
    """
    named = antom_settings.ANTOM_PUBLIC_KEY_FILE
    if named and Path(named).name == PUBLIC_KEY_FILE:
        return Path(named).parent
    return Path(DEFAULT_KEYS_DIR)


class Command(BaseCommand):
    help = (
        "Run the local Antom sandbox simulator (gateway API, hosted checkout, web SDK stand-in). "
        "It trusts the public half of ANTOM['PRIVATE_KEY'] for ANTOM['CLIENT_ID']. "
        "--init writes its key pair and exits."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser, verbose_flag=False)
        parser.set_defaults(keys_dir=None)  # None: derived from ANTOM_PUBLIC_KEY_FILE, see keys_dir_from_settings
        for action in parser._actions:  # argparse has no public way to reword an option's help
            if action.dest == "keys_dir":
                action.help = (
                    f"where the simulator's key pair is kept (default: the directory of ANTOM_PUBLIC_KEY_FILE "
                    f"when it names {PUBLIC_KEY_FILE}, else {DEFAULT_KEYS_DIR})"
                )
        parser.add_argument(
            "--init",
            action="store_true",
            help=f"write the simulator's key pair ({SIMULATOR_KEY_FILE}, mode 0600, and {PUBLIC_KEY_FILE} for "
            "ANTOM_PUBLIC_KEY_FILE) into --keys-dir, keeping an existing one, and exit without serving",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["keys_dir"] is None:
            options["keys_dir"] = str(keys_dir_from_settings())
        if options["init"]:
            self.init_keys(Path(options["keys_dir"]))
            return
        self.serve(options)

    def init_keys(self, keys_dir: Path) -> None:
        private_path, public_path = keys_dir / SIMULATOR_KEY_FILE, keys_dir / PUBLIC_KEY_FILE
        existed = private_path.exists()
        try:
            key = load_or_create_key(private_path)
            write_public_key(public_path, key)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        kept = "kept the existing" if existed else "wrote a new"
        self.stdout.write(f"Sandbox simulator keys in {keys_dir}/: {kept} {SIMULATOR_KEY_FILE} (mode 0600).")
        self.stdout.write(f"Settings: ANTOM['ANTOM_PUBLIC_KEY_FILE'] = {str(public_path.resolve())!r}")

    def serve(self, options: dict[str, Any]) -> None:
        logging.basicConfig(
            level=logging.INFO if options["verbosity"] > 1 else logging.WARNING, format="%(asctime)s %(message)s"
        )
        if options["client_id"] == DEFAULT_CLIENT_ID and antom_settings.CLIENT_ID:
            options["client_id"] = antom_settings.CLIENT_ID
        merchant_key = None
        if options["merchant_public_key"] is None:
            with contextlib.suppress(ConfigurationError):
                merchant_key = antom_settings.merchant_private_key.public_key()
        try:
            server, shop_settings = build_server(argparse.Namespace(**options), merchant_key)
        except (ValueError, OSError, ConfigurationError) as exc:
            raise CommandError(str(exc)) from None
        if merchant_key is not None:
            shop_settings.pop("PRIVATE_KEY", None)
            used = "PRIVATE_KEY_FILE" if antom_settings.PRIVATE_KEY_FILE else "PRIVATE_KEY"
            shop_settings[used] = f"(unchanged: your ANTOM['{used}'])"
        try:
            current = public_der_b64(antom_settings.antom_public_key)
        except ConfigurationError:
            current = None
        if current == server.antom_public_key_b64 and antom_settings.ANTOM_PUBLIC_KEY_FILE:
            shop_settings.pop("ANTOM_PUBLIC_KEY", None)
            shop_settings["ANTOM_PUBLIC_KEY_FILE"] = "(unchanged: your ANTOM['ANTOM_PUBLIC_KEY_FILE'])"
        banner(server, shop_settings, self.stdout)
        if current != server.antom_public_key_b64:
            self.stdout.write(
                self.style.WARNING(
                    "ANTOM['ANTOM_PUBLIC_KEY'] is not this simulator's key: set it as shown above "
                    "(or ANTOM_PUBLIC_KEY_FILE to antom_sandbox_public_key.pem in --keys-dir)."
                )
            )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
