"""The example shop: products, buy-now orders, the Antom checkout and the order's life from antom_django's signals."""
