"""Smoke demo until the example shop exists: sign and verify Antom's reference vectors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from antom_django.client import Signer, Verifier, parse_signature_header  # noqa: E402
from antom_django.client.keys import load_private_key, load_public_key  # noqa: E402


def main() -> int:
    vectors = json.loads((ROOT / "tests" / "fixtures" / "signature_vectors.json").read_text())
    signer = Signer(load_private_key(vectors["merchant_private_key"]))
    verifier = Verifier(load_public_key(vectors["antom_public_key"]))
    ok = True
    for req in vectors["requests"]:
        sig = signer.sign(req["method"], req["path"], vectors["client_id"], req["request_time"], req["body"])
        match = sig == req["signature"]
        ok &= match
        print(f"sign   {req['path']:<52} {'matches Antom SDK' if match else 'MISMATCH'}")
    for note in vectors["notifications"]:
        sig = parse_signature_header(note["signature_header"]).signature
        valid = verifier.is_valid(
            note["method"], note["path"], note["client_id"], note["request_time"], note["body"], sig
        )
        ok &= valid == note["valid"]
        print(f"verify {note['path']:<20} {note.get('why', 'genuine'):<20} -> {'accepted' if valid else 'rejected'}")
    print("all vectors reproduced" if ok else "VECTOR MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
