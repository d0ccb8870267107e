"""Reconciliation: local rows against Antom's API and Antom's report files, exports and dashboard figures.

Nothing here imports the Django admin: the admin views (:mod:`antom_django.admin.reconcile`) and the
``antom_reconcile`` command are thin edges over these modules, and every change of state goes through
:mod:`antom_django.services`.
"""
