"""``python -m antom_django.sandbox --port 8765``: run the simulator until interrupted."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
