"""Parse RSA keys in the forms Antom hands out: base64 DER or PEM, PKCS#8 / PKCS#1 / SPKI."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from .errors import KeyFormatError

MIN_KEY_BITS = 2048

_PUBLIC_MARKERS = ("-----BEGIN PUBLIC KEY-----", "-----BEGIN RSA PUBLIC KEY-----")


def _as_text(value: str | bytes, what: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFormatError(f"{what} is not text: expected base64 DER or PEM") from None
    if not isinstance(value, str):
        raise KeyFormatError(f"{what} must be a string, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise KeyFormatError(f"{what} is empty")
    if "-----BEGIN" in value and "\\n" in value:
        # A PEM squeezed onto one line in a .env file keeps its newlines as literal "\n".
        value = value.replace("\\n", "\n")
    return value


def _b64_der(text: str, what: str) -> bytes:
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(
            f"{what} is neither PEM nor valid base64 DER "
            "(expected the key body without '-----BEGIN' lines, or a full PEM block)"
        ) from None
    if not der:
        raise KeyFormatError(f"{what} decodes to zero bytes")
    return der


_FAMILIES = (
    ((ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey), "an EC (elliptic-curve)"),
    ((ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey), "an Ed25519"),
    ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "an Ed448"),
    ((dsa.DSAPrivateKey, dsa.DSAPublicKey), "a DSA"),
    ((x25519.X25519PrivateKey, x25519.X25519PublicKey), "an X25519"),
    ((x448.X448PrivateKey, x448.X448PublicKey), "an X448"),
)


def _describe(key: object) -> str:
    for types, family in _FAMILIES:
        if isinstance(key, types):
            return family
    return f"a {type(key).__name__.lstrip('_')}"


def load_private_key(value: str | bytes, *, what: str = "private key") -> rsa.RSAPrivateKey:
    """Load an RSA private key from base64 DER (PKCS#8 or PKCS#1) or PEM."""
    text = _as_text(value, what)
    if any(marker in text for marker in _PUBLIC_MARKERS):
        raise KeyFormatError(f"{what} is a public key; the private key is needed here")
    der = None if "-----BEGIN" in text else _b64_der(text, what)
    try:
        if der is None:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = serialization.load_der_private_key(der, password=None)
    except TypeError:
        raise KeyFormatError(f"{what} is encrypted; supply it without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        if der is not None and _parses(serialization.load_der_public_key, der):
            raise KeyFormatError(f"{what} is a public key; the private key is needed here") from None
        raise KeyFormatError(
            f"{what} could not be parsed as an RSA private key (PKCS#8 or PKCS#1, base64 DER or PEM)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"{what} is {_describe(key)} key; Antom uses RSA keys")
    return key


def load_public_key(value: str | bytes, *, what: str = "public key") -> rsa.RSAPublicKey:
    """Load an RSA public key from base64 DER (SubjectPublicKeyInfo or PKCS#1) or PEM."""
    text = _as_text(value, what)
    if "PRIVATE KEY-----" in text:
        raise KeyFormatError(f"{what} is a private key; the public key is needed here")
    der = None if "-----BEGIN" in text else _b64_der(text, what)
    try:
        if der is None:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            try:
                key = serialization.load_der_public_key(der)
            except ValueError:
                key = _pkcs1_public(der)
    except (ValueError, UnsupportedAlgorithm):
        if der is not None and _parses(lambda d: serialization.load_der_private_key(d, None), der):
            raise KeyFormatError(f"{what} is a private key; the public key is needed here") from None
        raise KeyFormatError(
            f"{what} could not be parsed as an RSA public key (SubjectPublicKeyInfo or PKCS#1, base64 DER or PEM)"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"{what} is {_describe(key)} key; Antom uses RSA keys")
    return key


def _pkcs1_public(der: bytes) -> PublicKeyTypes:
    pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
    return serialization.load_pem_public_key(pem)


def _parses(load: Callable[[bytes], object], der: bytes) -> bool:
    """Whether ``der`` is a key of the other kind: turns "could not be parsed" into "wrong half"."""
    try:
        load(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def read_key_file(path: str | os.PathLike[str], *, what: str) -> str:
    """Read a key file, turning OS errors into a :class:`KeyFormatError` naming the path."""
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read()
    except OSError as exc:
        raise KeyFormatError(f"{what} file {os.fspath(path)!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFormatError(f"{what} file {os.fspath(path)!r} is not a text key file") from None


def public_der_b64(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """The base64 SubjectPublicKeyInfo DER of a key, the form Antom's dashboard shows."""
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def private_der_b64(key: rsa.RSAPrivateKey) -> str:
    """The base64 PKCS#8 DER of a private key (what Antom's tools produce)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode("ascii")


def public_pem(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> bytes:
    """The SubjectPublicKeyInfo PEM of a key (a ``.pem`` file for ``ANTOM_PUBLIC_KEY_FILE`` or a dashboard)."""
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_private_pem(path: str | os.PathLike[str], key: rsa.RSAPrivateKey) -> None:
    """Write a private key as PKCS#8 PEM, readable by its owner only (mode 0600, also over an existing file)."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)


def generate_private_key(bits: int = MIN_KEY_BITS) -> rsa.RSAPrivateKey:
    """A fresh RSA key pair for a merchant or a simulator."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)
