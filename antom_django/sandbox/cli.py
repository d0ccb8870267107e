"""Command-line options shared by ``python -m antom_django.sandbox`` and ``manage.py antom_sandbox``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.errors import KeyFormatError

from .config import DEFAULT_CLIENT_ID, SandboxConfig
from .faults import Faults
from .keyarg import load_merchant_public_key
from .server import MERCHANT_KEY_FILE, SIMULATOR_KEY_FILE, SandboxServer, load_or_create_key, write_public_key


def add_arguments(parser: argparse.ArgumentParser, *, verbose_flag: bool = True) -> None:
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    net.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    net.add_argument("--public-url", help="URL browsers and shops use to reach the simulator, if not host:port")
    keys = parser.add_argument_group("keys and merchants")
    keys.add_argument(
        "--keys-dir",
        default=".antom-sandbox",
        help="where the simulator's key pair (and a generated merchant key) are kept (default .antom-sandbox)",
    )
    keys.add_argument(
        "--client-id", default=DEFAULT_CLIENT_ID, help=f"merchant client id (default {DEFAULT_CLIENT_ID})"
    )
    keys.add_argument(
        "--merchant-public-key",
        type=merchant_public_key_argument,
        metavar="KEY_OR_FILE",
        help="the merchant's RSA public key: PEM or base64 DER text, or a PEM / base64 / DER file; "
        "default: generate a merchant key pair in --keys-dir",
    )
    timing = parser.add_argument_group("timing")
    timing.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies notification retry intervals and settle delays"
    )
    timing.add_argument("--session-ttl", type=float, default=3600.0, help="seconds a payment session stays open")
    timing.add_argument(
        "--auth-ttl",
        type=float,
        default=7 * 24 * 3600.0,
        help="seconds an authorization can be captured (authExpiryTime; default 7 days)",
    )
    timing.add_argument(
        "--settle-delay", type=float, default=30.0, help="seconds before a PROCESSING test card settles"
    )
    timing.add_argument(
        "--notify-time-format", choices=("iso", "millis"), default="iso", help="request-time of notifications"
    )
    timing.add_argument(
        "--no-resend", action="store_true", help="send each notification once (as Antom's own sandbox does)"
    )
    faults = parser.add_argument_group(
        "fault injection (every request; per request use the X-Antom-Sandbox-Fault header)"
    )
    faults.add_argument("--latency", type=float, default=0.0, help="seconds to wait before answering API calls")
    faults.add_argument("--http-error-rate", type=float, default=0.0, help="share of API calls answered with a 5xx")
    faults.add_argument("--http-error-status", type=int, default=500, help="the 5xx status to answer (default 500)")
    faults.add_argument("--unknown-rate", type=float, default=0.0, help="share of API calls answered resultStatus U")
    faults.add_argument(
        "--drop-notifications", default="0", help="drop the first N delivery tries of each notification, or 'all'"
    )
    faults.add_argument("--duplicate-notifications", action="store_true", help="deliver every notification twice")
    faults.add_argument(
        "--reorder-notifications", action="store_true", help="deliver a payment's notifications in reverse order"
    )
    faults.add_argument("--fault-operations", default="", help="limit API faults to these operations (comma-separated)")
    faults.add_argument("--seed", type=int, help="random seed for rate-based faults")
    if verbose_flag:  # Django commands have their own -v/--verbosity
        parser.add_argument("-v", "--verbose", action="store_true", help="log every request and notification")


def config_from(options: Any) -> SandboxConfig:
    drop = str(options.drop_notifications).strip().lower()
    faults = Faults(
        latency=options.latency,
        http_error_rate=options.http_error_rate,
        http_error_status=options.http_error_status,
        unknown_rate=options.unknown_rate,
        notify_drop=-1 if drop == "all" else int(drop or 0),
        notify_duplicate=options.duplicate_notifications,
        notify_reorder=options.reorder_notifications,
        operations=tuple(o for o in options.fault_operations.split(",") if o),
    )
    return SandboxConfig(
        time_scale=options.time_scale,
        session_ttl=options.session_ttl,
        auth_ttl=options.auth_ttl,
        settle_delay=options.settle_delay,
        notify_time_format=options.notify_time_format,
        resend_notifications=not options.no_resend,
        public_url=options.public_url,
        seed=options.seed,
        faults=faults,
    )


def merchant_public_key_argument(value: str) -> rsa.RSAPublicKey:
    """argparse ``type`` of ``--merchant-public-key``: a usage error, never a traceback, for a bad value."""
    try:
        return load_merchant_public_key(value)
    except KeyFormatError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def build_server(
    options: Any, merchant_public_key: rsa.RSAPublicKey | None = None
) -> tuple[SandboxServer, dict[str, Any]]:
    """Create the server and the ``ANTOM`` settings a shop needs to talk to it."""
    keys_dir = Path(options.keys_dir)
    simulator_key = load_or_create_key(keys_dir / SIMULATOR_KEY_FILE)
    write_public_key(keys_dir / "antom_sandbox_public_key.pem", simulator_key)
    server = SandboxServer(host=options.host, port=options.port, config=config_from(options), private_key=simulator_key)
    settings: dict[str, Any] = {"CLIENT_ID": options.client_id}
    given = options.merchant_public_key
    if merchant_public_key is None and given is not None:
        merchant_public_key = given if isinstance(given, rsa.RSAPublicKey) else load_merchant_public_key(given)
    if merchant_public_key is not None:
        server.sim.register_client(options.client_id, merchant_public_key)
        settings["PRIVATE_KEY"] = "<your merchant private key>"
    else:
        merchant_file = keys_dir / MERCHANT_KEY_FILE
        server.add_merchant(options.client_id, load_or_create_key(merchant_file))
        settings["PRIVATE_KEY_FILE"] = str(merchant_file.resolve())
    settings["ANTOM_PUBLIC_KEY"] = server.antom_public_key_b64
    settings["GATEWAY_URL"] = server.url
    return server, settings


def banner(server: SandboxServer, settings: dict[str, Any], out: TextIO | Any) -> None:
    lines = [f"Antom sandbox simulator listening on {server.url}", "", "Point your shop at it:", "ANTOM = {"]
    lines += [f"    {key!r}: {value!r}," for key, value in settings.items()]
    lines += [
        "}",
        "",
        f'Web SDK stand-in: <script src="{server.url}/sdk/ams-checkout.js"></script>',
        f"Admin: {server.url}/sandbox/health, /sandbox/notifications, /sandbox/faults",
        "Test cards: 4242424242424242 approve, 4000000000000002 decline, 4000000000003220 3-D Secure,",
        "            4000000000000259 processing, 4000000000000119 expiry (see the README for all).",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m antom_django.sandbox", description="Run the local Antom sandbox simulator."
    )
    add_arguments(parser)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    try:
        server, settings = build_server(options)
    except (ValueError, OSError, KeyFormatError) as exc:
        parser.error(str(exc))
    banner(server, settings, sys.stdout)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
