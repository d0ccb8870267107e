"""The shop's products: prices in integer minor units of each product's currency (JPY has no decimals)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

PRODUCTS = [
    # slug, name, description, currency, price_minor, colour
    ("pour-over-kettle", "Pour-over kettle", "Gooseneck, 1 litre, brushed steel.", "SGD", 4200, "#c8d6e5"),
    ("enamel-mug", "Enamel camp mug", "350 ml, speckled blue, dishwasher safe.", "SGD", 1800, "#9fc5e8"),
    (
        "arita-dripper",
        "Arita porcelain dripper",
        "Hand-glazed in Arita, Japan; fits size 02 filters.",
        "JPY",
        3800,
        "#f4cccc",
    ),
    ("loose-leaf-tea", "Loose-leaf sencha", "100 g tin, first flush.", "USD", 1250, "#d9ead3"),
]


def add_products(apps: Any, schema_editor: Any) -> None:
    Product = apps.get_model("shop", "Product")
    for position, (slug, name, description, currency, price_minor, colour) in enumerate(PRODUCTS):
        Product.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "currency": currency,
                "price_minor": price_minor,
                "colour": colour,
                "position": position,
            },
        )


def remove_products(apps: Any, schema_editor: Any) -> None:
    apps.get_model("shop", "Product").objects.filter(slug__in=[p[0] for p in PRODUCTS], order__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(add_products, remove_products)]
