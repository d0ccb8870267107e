"""``--merchant-public-key``: the key itself (PEM or base64 DER) or the path of a key file, told apart by content.

Trying the value as a file name first broke on real keys: a 2048-bit key in base64 is about 400
characters, and whenever its first 256 hold no ``/`` (3-5 % of keys) the operating system refuses
the "file name" (``ENAMETOOLONG``) before the text is ever read as a key. So the value is classified first:

* it contains a PEM ``-----BEGIN`` line, or it is base64 (line breaks allowed) that starts like an
  ASN.1 SEQUENCE, which every DER key is (``M`` then ``A``-``P``): it is the key;
* anything else is a path: a PEM, base64 or binary DER file.

Either way the result is an RSA public key or a :class:`KeyFormatError` that says which of the two the
value was taken for and why it is unusable.
"""

from __future__ import annotations

import base64
import codecs
import os
import re

from cryptography.hazmat.primitives.asymmetric import rsa

from antom_django.client.errors import KeyFormatError
from antom_django.client.keys import load_public_key

OPTION = "--merchant-public-key"
MAX_KEY_FILE_BYTES = 64 * 1024  # a 16384-bit key in PEM is about 3 KB
_BASE64_DER = re.compile(r"M[A-P][A-Za-z0-9+/\s]*={0,2}")


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def is_key_text(value: str) -> bool:
    """Whether ``value`` is key text (PEM, or base64 DER) rather than a path."""
    text = value.strip()
    return "-----BEGIN" in text or _BASE64_DER.fullmatch(text) is not None


def load_merchant_public_key(value: str) -> rsa.RSAPublicKey:
    """The merchant's RSA public key from key text or a key file; :class:`KeyFormatError` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise KeyFormatError(f"{OPTION} is empty: give the key (PEM or base64 DER) or the path of a key file")
    if is_key_text(value):
        return load_public_key(value, what=f"{OPTION} (taken as key text)")
    return _load_file(value.strip())


def _load_file(path: str) -> rsa.RSAPublicKey:
    what = f"{OPTION} file {path!r}"
    try:
        with open(os.path.expanduser(path), "rb") as fh:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a usable file name"
        raise KeyFormatError(
            f"{OPTION} {_shown(path)} is neither a key (PEM, or base64 DER starting 'MI') "
            f"nor a readable key file: {reason}"
        ) from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFormatError(f"{what} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    if data.startswith(b"\x30"):  # binary DER: an ASN.1 SEQUENCE
        return load_public_key(base64.b64encode(data).decode("ascii"), what=f"{what} (binary DER)")
    return load_public_key(data.removeprefix(codecs.BOM_UTF8), what=what)
