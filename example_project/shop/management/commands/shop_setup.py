"""``manage.py shop_setup``: everything the shop needs before it starts, idempotent (run it as often as you like).

Keys (the merchant pair in ``ANTOM_KEYS_DIR`` unless present; the simulator's with ``antom_sandbox --init``),
the broker folder of the embedded default, ``migrate`` (which adds the products), and the demo admin user.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "antom-demo"
SIMULATOR_PUBLIC_KEY = "antom_sandbox_public_key.pem"


class Command(BaseCommand):
    help = "Set the example shop up: keys, migrations, products and the demo admin user (idempotent)."
    requires_system_checks: list[str] = []  # the checks read the key files this command writes

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--no-admin", action="store_true", help="do not create the demo admin user")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = max(options["verbosity"] - 1, 0)
        private_key = Path(settings.ANTOM["PRIVATE_KEY_FILE"])
        if private_key.exists():
            self.stdout.write(f"Merchant key: kept {private_key}")
        else:
            call_command("antom_keys", out=str(private_key.parent), stdout=self.stdout)
        antom_public_key = Path(settings.ANTOM["ANTOM_PUBLIC_KEY_FILE"])
        if antom_public_key.name == SIMULATOR_PUBLIC_KEY:
            call_command("antom_sandbox", init=True, stdout=self.stdout)
        elif not antom_public_key.exists():
            self.stderr.write(f"Antom's public key is missing: copy it from Antom Dashboard to {antom_public_key}")
        if folder := getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("control_folder"):
            Path(folder).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=quiet, stdout=self.stdout)
        self.stdout.write("Database: migrated (products included).")
        if not options["no_admin"]:
            self.admin_user()

    def admin_user(self) -> None:
        users = get_user_model()
        if users.objects.filter(username=ADMIN_USERNAME).exists():
            self.stdout.write(f"Admin user: {ADMIN_USERNAME!r} exists (password unchanged).")
            return
        users.objects.create_superuser(ADMIN_USERNAME, email="", password=ADMIN_PASSWORD)
        self.stdout.write(f"Admin user: {ADMIN_USERNAME} / {ADMIN_PASSWORD} (the demo's; not for a real shop)")
