"""Management commands of antom_django."""
