SHOP_ENVIRONMENT = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "SHOP_URL",
    "SHOP_SDK_URL",
    "SHOP_SDK_ENVIRONMENT",
    "ANTOM_GATEWAY_URL",
    "ANTOM_CLIENT_ID",
    "ANTOM_KEYS_DIR",
    "ANTOM_PUBLIC_KEY_FILE",
    "ANTOM_AUTO_CAPTURE",
    "ANTOM_NOTIFY_APPLY",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
)
"""Every variable ``example_project/shopsite/settings.py`` reads from the environment."""
