"""The HTTP API: payment sessions, payment status and Antom's notification webhook (DRF)."""
