"""Fail unless the installed Django is the series given (``check_django.py 5.2``): a venv or tox env that
resolved to another Django than its name says would test the wrong thing and pass."""

from __future__ import annotations

import sys

import django


def main(wanted: str) -> int:
    have = "{}.{}".format(*django.VERSION[:2])
    if have != wanted:
        print(f"Django {django.get_version()} is installed, this environment is for Django {wanted}", file=sys.stderr)
        return 1
    print(f"Django {django.get_version()} on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
