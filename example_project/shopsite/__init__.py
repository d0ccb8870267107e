"""The example shop's Django project.

The Celery app lives in :mod:`shopsite.celery`, which ``celery -A shopsite`` finds by name. It is not imported
here because the web process sends no tasks: the background work is driven by beat and the database.
"""
