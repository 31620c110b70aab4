from costprism.ingest.currencies import ISO_4217


def test_common_codes_are_known_and_shapes_are_three_upper_letters() -> None:
    assert {"USD", "EUR", "JPY", "GBP", "INR", "CNY"} <= ISO_4217
    assert all(len(code) == 3 and code.isupper() and code.isalpha() for code in ISO_4217)
    assert "usd" not in ISO_4217
    assert "XXX" not in ISO_4217
    assert len(ISO_4217) > 150
