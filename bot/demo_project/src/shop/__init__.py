"""shop-service: carts, prices and coupons over HTTP."""

__version__ = "0.3.0"
