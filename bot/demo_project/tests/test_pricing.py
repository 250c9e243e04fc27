from shop.pricing import COUPONS, total


def test_total_without_coupon() -> None:
    assert total([("tea", 2), ("mug", 1)]) == 2100


def test_coupon_takes_ten_percent_off() -> None:
    assert total([("kettle", 1)], COUPONS["WELCOME10"]) == 3510
