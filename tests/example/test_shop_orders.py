"""Buy-now, the checkout page and the buyer's pages: the price is the server's, the orders the buyer's own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from antom_django.models import Payment
from shop.buyers import SESSION_KEY
from shop.models import Order, Product

from .conftest import buy


def test_buy_now_creates_an_order_at_the_products_price(kettle: Product, buyer: Client) -> None:
    response = buyer.post("/orders/", {"product": "pour-over-kettle"})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/checkout/{order.number}/"
    assert (order.product, order.currency, order.total_minor, order.status) == (
        kettle,
        "SGD",
        4200,
        Order.Status.AWAITING_PAYMENT,
    )
    assert order.user is None
    assert buyer.session[SESSION_KEY] == [order.number]


def test_a_posted_price_or_amount_is_ignored(kettle: Product, buyer: Client) -> None:
    order = buy(buyer, price="0.01", amount="1", total_minor="1", currency="JPY")

    assert (order.currency, order.total_minor) == ("SGD", 4200)


def test_a_jpy_product_keeps_its_zero_decimal_price(db: None, buyer: Client) -> None:
    order = buy(buyer, "arita-dripper")

    assert (order.currency, order.total_minor, order.total) == ("JPY", 3800, "JPY 3800")
    assert b'id="order-total">JPY 3800<' in buyer.get(f"/checkout/{order.number}/").content


def test_an_unknown_product_makes_no_order(db: None, buyer: Client) -> None:
    response = buyer.post("/orders/", {"product": "nothing-like-it"}, follow=True)

    assert not Order.objects.exists()
    assert b"not in the shop" in response.content


def test_the_shelf_has_a_buy_now_form_per_product(db: None, buyer: Client) -> None:
    page = buyer.get("/").content.decode()

    for product in Product.objects.all():
        assert f'<input type="hidden" name="product" value="{product.slug}">' in page
    assert page.count('<form class="buy-now" method="post" action="/orders/">') == Product.objects.count() == 4


def test_a_logged_in_buyers_order_is_theirs(kettle: Product, buyer: Client) -> None:
    user = User.objects.create_user("ann", password="pw")
    buyer.force_login(user)

    order = buy(buyer)

    assert order.user == user
    assert buyer.get(f"/orders/{order.number}/").status_code == 200


def test_the_checkout_page_loads_the_configured_sdk_and_has_the_hooks(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)

    response = buyer.get(f"/checkout/{order.number}/")
    page = response.content.decode()

    assert "no-store" in response["Cache-Control"]  # the back button after paying asks the server again
    assert '<script src="http://sdk.invalid/ams-checkout.js"></script>' in page
    assert 'id="order-total">SGD 42.00<' in page
    for hook in (
        'name="experience" value="popup" checked',
        'name="experience" value="embedded"',
        'id="collect-address"',
        'id="billing-address"',
        'id="pay-button"',
        'id="card-container"',
        'id="checkout-message"',
        'data-environment="sandbox"',
        "/static/shop/checkout.js",
    ):
        assert hook in page, hook
    assert 'name="csrfmiddlewaretoken"' not in page  # the token is handed to the script, not in a form
    assert f'data-order="{order.number}"' in page
    assert "amount" not in page.lower()  # nothing for the browser to send back but the order number


def test_a_paid_orders_checkout_shows_its_status_instead_of_paying(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.AWAITING_CAPTURE)

    page = buyer.get(f"/checkout/{order.number}/").content.decode()

    assert 'id="pay-button"' not in page and "ams-checkout.js" not in page
    assert 'id="order-status" data-status="awaiting_capture"' in page


def test_another_buyer_sees_none_of_a_guests_order(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)
    stranger = Client()
    stranger.force_login(User.objects.create_user("eve", password="pw"))

    for client in (Client(), stranger):
        assert client.get(f"/checkout/{order.number}/").status_code == 404
        assert client.get(f"/orders/{order.number}/").status_code == 404
        assert client.get(f"/checkout/result/?order={order.number}").status_code == 404
        assert order.number not in client.get("/orders/").content.decode()
    assert order.number in buyer.get("/orders/").content.decode()


def test_the_order_page_shows_the_status_hook(kettle: Product, buyer: Client) -> None:
    order = buy(buyer)

    page = buyer.get(f"/orders/{order.number}/").content.decode()

    assert 'id="order-status" data-status="awaiting_payment"' in page


def test_the_order_admin_lists_each_orders_payments(kettle: Product, buyer: Client) -> None:
    """The order list links each order's payments (Django 6 refuses format_html() without arguments)."""
    order = buy(buyer)
    for request_id in ("pay-1", "pay-2"):
        Payment.objects.create(
            payment_request_id=request_id,
            amount=order.total_minor,
            currency=order.currency,
            reference_order_id=order.number,
            status=Payment.Status.FAILED,
        )
    staff = Client()
    staff.force_login(User.objects.create_superuser("staff", password="pw"))

    page = staff.get(f"/admin/shop/order/?q={order.number}").content.decode()

    assert page.count("/admin/antom_django/payment/") >= 2
    assert "pay-1" in page and "pay-2" in page and "<br>" in page
