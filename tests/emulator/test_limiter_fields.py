"""The emulator's advertised rate-limit fields (``--rate-limit-headers``): what each limiter says is left and
when it is whole again, in the IETF draft's and the common ``X-RateLimit-*`` form, on real answers."""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx
import pytest

from dify_mgmt_async.emulator import EmulatorServer
from dify_mgmt_async.emulator.limiters import allowance_headers, make_limiter
from dify_mgmt_async.emulator.server import parse_args
from dify_mgmt_async.emulator.store import ApiError, EmulatorConfig

from .conftest import P


def test_token_bucket_allowance_counts_the_tokens_and_the_time_to_a_full_bucket() -> None:
    bucket = make_limiter("token-bucket", 10.0, 4, 0.0)
    assert bucket.allowance(0.0) == (4, 0.0)
    for _ in range(3):
        assert bucket.take(0.0) is None
    assert bucket.allowance(0.0) == (1, pytest.approx(0.3))
    assert bucket.allowance(0.05) == (1, pytest.approx(0.25))  # refilling: 1.5 tokens, not yet 2
    assert bucket.allowance(0.1) == (2, pytest.approx(0.2))
    assert bucket.allowance(9.0) == (4, 0.0)  # never more than the burst


def test_gcra_allowance_counts_the_tolerance_left() -> None:
    gcra = make_limiter("gcra", 10.0, 4, 0.0)
    assert gcra.allowance(0.0) == (4, 0.0)
    for _ in range(3):
        assert gcra.take(0.0) is None
    assert gcra.allowance(0.0) == (1, pytest.approx(0.3))
    assert gcra.take(0.0) is None
    assert gcra.allowance(0.0) == (0, pytest.approx(0.4))
    assert gcra.take(0.0) == pytest.approx(0.1)  # and the limiter agrees: none left
    assert gcra.allowance(0.15) == (1, pytest.approx(0.25))


def test_fixed_window_allowance_is_whole_at_the_next_window() -> None:
    window = make_limiter("fixed-window", 10.0, 5, 0.0)  # 5 per 0.5 s, windows at multiples of 0.5 s
    assert window.allowance(0.1) == (5, 0.0)
    for _ in range(2):
        assert window.take(0.1) is None
    assert window.allowance(0.2) == (3, pytest.approx(0.3))
    assert window.allowance(0.5) == (5, 0.0)  # a new window: nothing used in it yet


def test_sliding_log_allowance_is_whole_when_the_last_entry_leaves() -> None:
    log = make_limiter("sliding-log", 10.0, 3, 0.0)  # 3 in any 0.3 s
    assert log.take(0.0) is None
    assert log.take(0.1) is None
    assert log.allowance(0.1) == (1, pytest.approx(0.3))
    assert log.allowance(0.3) == (2, pytest.approx(0.1))  # the first has left the window
    assert log.allowance(0.4) == (3, 0.0)


def test_allowance_headers_in_each_style() -> None:
    bucket = make_limiter("token-bucket", 100.0, 10, 0.0)
    for _ in range(7):
        bucket.take(0.0)
    assert allowance_headers(bucket, 0.0, 100.0, 10, "ietf") == {
        "RateLimit-Policy": '"default";q=100;w=1',
        "RateLimit": '"default";r=3;t=1',
    }
    assert allowance_headers(bucket, 0.0, 100.0, 10, "x") == {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "3",
        "X-RateLimit-Reset": "1",
    }
    assert allowance_headers(bucket, 0.0, 100.0, 10, "none") == {}
    full = make_limiter("token-bucket", 100.0, 10, 0.0)
    assert allowance_headers(full, 0.0, 100.0, 10, "x")["X-RateLimit-Reset"] == "0"  # whole already
    slow = make_limiter("fixed-window", 2.0, 5, 0.0)  # 5 per 2.5 s: stated per 3 whole seconds
    slow.take(0.0)
    assert allowance_headers(slow, 0.0, 2.0, 5, "ietf") == {
        "RateLimit-Policy": '"default";q=6;w=3',
        "RateLimit": '"default";r=4;t=3',
    }


@pytest.mark.parametrize(
    ("rate", "burst", "policy"),
    [
        (2.5, 1, '"default";q=5;w=2'),  # the next whole number of seconds with whole requests: q / w is R
        (0.3, 1, '"default";q=3;w=10'),
        (0.5, 0, '"default";q=1;w=2'),  # a burst of 0 (the limiter takes it as 1): still R
        (math.pi, 1, '"default";q=4;w=1'),  # no whole number of requests in 1000 s: rounded up, never under R
    ],
)
def test_a_stated_policy_is_the_rate_itself(rate: float, burst: int, policy: str) -> None:
    limiter = make_limiter("gcra", rate, burst, 0.0)
    assert allowance_headers(limiter, 0.0, rate, burst, "ietf")["RateLimit-Policy"] == policy


def test_answers_carry_the_fields_and_a_429_its_hint_too(spec_client: Callable[..., httpx.Client]) -> None:
    with EmulatorServer(rate=1.0, burst=2, retry_after="seconds", rate_limit_headers="ietf") as server:
        client = spec_client(server.base_url + P, headers={"Authorization": f"Bearer {server.token}"})
        first = client.get("/models")
        client.get("/models")
        refused = client.get("/models")
        server.configure(rate_limit_headers="none")
        plain = client.get("/models")  # the same empty bucket, now not advertised
    assert first.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"default";q=2;w=2'
    assert first.headers["RateLimit"] == '"default";r=1;t=1'
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit"] == '"default";r=0;t=2'
    assert refused.headers["RateLimit-Policy"] == '"default";q=2;w=2'
    assert plain.status_code == 429 and plain.headers["Retry-After"] == "1"
    assert "RateLimit" not in plain.headers and "RateLimit-Policy" not in plain.headers


def test_a_request_past_the_limiter_but_refused_later_still_carries_the_fields(
    spec_client: Callable[..., httpx.Client],
) -> None:
    with EmulatorServer(rate=100.0, burst=10, rate_limit_headers="x") as server:
        client = spec_client(server.base_url + P, headers={"Authorization": f"Bearer {server.token}"})
        invalid = client.post("/datasets", json={"name": ""})
    assert invalid.status_code == 400
    assert invalid.headers["X-RateLimit-Limit"] == "100"
    assert invalid.headers["X-RateLimit-Remaining"] == "9"
    assert invalid.headers["X-RateLimit-Reset"] == "1"  # 0.01 s to a full bucket, rounded up


def test_the_flag_its_env_var_and_its_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_args([]).rate_limit_headers == "none"
    assert parse_args(["--rate-limit-headers", "x"]).rate_limit_headers == "x"
    monkeypatch.setenv("DIFY_EMULATOR_RATE_LIMIT_HEADERS", "ietf")
    assert parse_args([]).rate_limit_headers == "ietf"
    config = EmulatorConfig()
    with pytest.raises(ApiError, match="rate_limit_headers: must be one of none, ietf, x"):
        config.update({"rate_limit_headers": "draft"})
    config.update({"rate_limit_headers": "x"})
    assert config.public()["rate_limit_headers"] == "x"  # and the control API shows it
