"""``manage.py antom_keys``: generate a merchant RSA key pair in the forms Antom's dashboard expects."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from antom_django.client.keys import (
    MIN_KEY_BITS,
    generate_private_key,
    private_der_b64,
    public_der_b64,
    public_pem,
    write_private_pem,
)

PRIVATE_FILE = "merchant_private_key.pem"
PUBLIC_FILE = "merchant_public_key.pem"


class Command(BaseCommand):
    help = (
        "Generate a merchant RSA key pair. Upload the public key in Antom Dashboard (Developer → Quick start → "
        "Integration resources); keep the private key secret (ANTOM['PRIVATE_KEY'] or PRIVATE_KEY_FILE)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--bits", type=int, default=MIN_KEY_BITS, help=f"key size (at least {MIN_KEY_BITS}; default {MIN_KEY_BITS})"
        )
        parser.add_argument("--out", help=f"write {PRIVATE_FILE} (mode 0600) and {PUBLIC_FILE} into this directory")
        parser.add_argument("--force", action="store_true", help="overwrite existing key files in --out")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bits"] < MIN_KEY_BITS:
            raise CommandError(f"--bits must be at least {MIN_KEY_BITS}")
        key = generate_private_key(options["bits"])
        public_b64 = public_der_b64(key)
        if not options["out"]:
            self.stdout.write("Public key (base64 DER SubjectPublicKeyInfo; upload to Antom Dashboard):")
            self.stdout.write(public_b64)
            self.stdout.write("")
            self.stdout.write("Private key (base64 DER PKCS#8; ANTOM['PRIVATE_KEY']; keep it secret):")
            self.stdout.write(private_der_b64(key))
            return
        out = Path(options["out"])
        private_path, public_path = out / PRIVATE_FILE, out / PUBLIC_FILE
        existing = [p for p in (private_path, public_path) if p.exists()]
        if existing and not options["force"]:
            raise CommandError(f"{existing[0]} exists; pass --force to replace it")
        out.mkdir(parents=True, exist_ok=True)
        write_private_pem(private_path, key)  # mode 0600, also over an existing file with a wider mode
        public_path.write_bytes(public_pem(key))
        self.stdout.write(f"Wrote {private_path} (private, mode 0600) and {public_path}.")
        self.stdout.write(f"Settings: ANTOM['PRIVATE_KEY_FILE'] = {str(private_path.resolve())!r}")
        self.stdout.write("Public key for Antom Dashboard:")
        self.stdout.write(public_b64)
