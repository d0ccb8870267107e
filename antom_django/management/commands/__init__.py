"""``manage.py`` commands: ``antom_keys``, ``antom_sandbox``."""
