"""The shared rate-limit store: its Lua scripts on a real redis-server (with a pinned clock), and the
engine's side of it (faults, fallback, rejoin, trio) with a store that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from dify_mgmt_async import Admission, ConfigurationError, DifyManagementClient, RateLimitStore
from dify_mgmt_async._ratelimit import RateLimitEngine
from dify_mgmt_async._store import SharedState, namespace_for
from dify_mgmt_async.redis_store import RedisRateLimitStore
from tests.redis_server import RedisServer

TOKEN = "app-SECRET-token-1234567890"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def make_store(client: aioredis.Redis, clock: Clock, **kwargs: object) -> RedisRateLimitStore:
    return RedisRateLimitStore(client, clock=clock, **kwargs)  # type: ignore[arg-type]


def fresh_namespace() -> str:
    return namespace_for("http://dify.test", secrets.token_hex(8))


# --- namespace --------------------------------------------------------------------------------


def test_namespace_is_a_hash_of_url_and_token_never_the_token() -> None:
    ns = namespace_for("https://dify.example.com/", TOKEN)
    assert len(ns) == 32 and TOKEN not in ns and "dify" not in ns
    assert ns == namespace_for("https://dify.example.com", TOKEN)  # a trailing slash is the same server
    assert ns != namespace_for("https://dify.example.com", TOKEN + "x")
    assert ns != namespace_for("https://other.example.com", TOKEN)
    assert namespace_for("https://dify.example.com", None) == namespace_for("https://dify.example.com", "")


# --- the Lua scripts, on a real redis-server --------------------------------------------------


@pytest.mark.anyio
async def test_slow_start_window_across_processes(redis_client: aioredis.Redis) -> None:
    """Until the first 429 at most 4 requests are in flight over every process, +1 per success."""
    store = make_store(redis_client, Clock())
    ns = fresh_namespace()
    for lease in "abcd":
        assert await store.admit(ns, "p-" + lease, 0) == Admission(admitted=True, wait=0.0, rate=None, leased=True)
    assert await store.admit(ns, "p-e", 0) == Admission(admitted=False, wait=0.01, rate=None, leased=False)
    await store.release(ns, "p-a", 1)  # one back, and the window is 5 now: two more may go
    assert (await store.admit(ns, "p-e", 0)).admitted
    assert (await store.admit(ns, "p-f", 0)).admitted
    assert not (await store.admit(ns, "p-g", 0)).admitted
    # Successes reported with an admit count first; at a window of 64 the window (and its leases) ends.
    assert await store.admit(ns, "p-g", 58) == Admission(admitted=True, wait=0.0, rate=None, leased=True)  # 63
    assert await store.admit(ns, "p-h", 1) == Admission(admitted=True, wait=0.0, rate=None, leased=False)


@pytest.mark.anyio
async def test_a_429_closes_the_shared_gate_for_its_wait(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    assert await store.rate_limited(ns, 2.0) == 10.0  # first guess: max(1, 0 successes) / 0.1 s
    clock.now = 1000.5
    assert await store.admit(ns, "p-l1", 0) == Admission(admitted=False, wait=1.5, rate=10.0, leased=False)
    await store.rate_limited(ns, 0.5)  # ends before the current resume time: the gate stays as it is
    assert (await store.admit(ns, "p-l2", 0)).wait == 1.5
    clock.now = 1002.0
    assert await store.admit(ns, "p-l3", 0) == Admission(admitted=True, wait=0.0, rate=10.0, leased=False)


@pytest.mark.anyio
async def test_first_429_guesses_from_all_successes_capped_by_an_ms_hint(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.release(ns, None, 30)  # 30 successes at t=1000 (the first), 20 more at t=1001
    clock.now = 1001.0
    await store.release(ns, None, 20)
    clock.now = 1002.0
    assert await store.rate_limited(ns, 0.02) == 25.0  # 50 over 2 s; the 0.02 s hint's 50/s is above it
    ns2 = fresh_namespace()
    clock.now = 1000.0
    await store.release(ns2, None, 50)
    clock.now = 1001.0
    assert await store.rate_limited(ns2, 0.1) == 10.0  # 50/s measured, but the server's next token is 0.1 s away


@pytest.mark.anyio
async def test_span_between_429s_measures_the_rate_and_a_probe_backs_off(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.release(ns, None, 10)
    clock.now = 1001.0
    assert await store.rate_limited(ns, 0.0) == 10.0  # the first guess
    clock.now = 1001.1
    await store.release(ns, None, 8)
    assert await store.rate_limited(ns, 0.0) == 10.0  # 0.1 s after: a straggler, nothing learned
    clock.now = 1001.3
    await store.release(ns, None, 22)
    assert await store.rate_limited(ns, 0.0) == pytest.approx(100.0)  # 30 successes in the 0.3 s span
    clock.now = 1002.5
    await store.release(ns, None, 40)
    clock.now = 1003.0
    # 1.7 s without a 429: a probe reached the top. 0.9 x 100 = 90 beats the 40/s that came through.
    assert await store.rate_limited(ns, 0.0) == pytest.approx(90.0)


@pytest.mark.anyio
async def test_pacing_follows_gcra_spacing_shared_by_processes(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.release(ns, None, 10)
    clock.now = 1001.0
    assert await store.rate_limited(ns, 0.0) == 10.0  # one send every 0.1 s, burst max(1, 10 x 0.05) = 1
    waits = [(await store.admit(ns, f"p-{i}", 0)).wait for i in range(3)]
    assert waits == [0.0, pytest.approx(0.1, abs=1e-5), pytest.approx(0.2, abs=1e-5)]
    other = make_store(redis_client, clock)  # another process: its next slot comes after these three
    assert (await other.admit(ns, "p-x", 0)).wait == pytest.approx(0.3, abs=1e-5)


@pytest.mark.anyio
async def test_rate_grows_fast_until_measured_while_pacing_holds_sends(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.release(ns, None, 10)
    clock.now = 1001.0
    await store.rate_limited(ns, 0.0)  # 10/s
    assert (await store.admit(ns, "p-a", 0)).rate == 10.0  # not held back: no growth
    clock.now = 1001.05
    assert (await store.admit(ns, "p-b", 0)).rate == pytest.approx(11.5)  # held 0.05 s: x (1 + 3.0 x 0.05)


@pytest.mark.anyio
async def test_a_process_restores_the_rate_a_restarted_store_lost(redis_client: aioredis.Redis) -> None:
    store = make_store(redis_client, Clock(1000.0))
    ns = fresh_namespace()
    assert await store.admit(ns, "p-a", 0, 42.0) == Admission(admitted=True, wait=0.0, rate=42.0, leased=False)
    assert (await store.admit(ns, "p-b", 0, 7.0)).rate == 42.0  # the store's own rate wins once it has one


@pytest.mark.anyio
async def test_processes_present_in_the_last_two_seconds_are_counted(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    assert (await store.admit(ns, "p1-1", 0)).processes == 1
    assert (await store.admit(ns, "p2-1", 0)).processes == 2
    assert (await store.admit(ns, "p1-2", 0)).processes == 2  # the same process again
    clock.now = 1002.5
    assert (await store.admit(ns, "p3-1", 0)).processes == 1  # p1 and p2 fell silent


@pytest.mark.anyio
async def test_in_flight_cap_and_lease_expiry(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock, max_in_flight=2, lease_ttl=5.0)
    ns = fresh_namespace()
    assert (await store.admit(ns, "p-a", 0)).leased
    assert (await store.admit(ns, "p-b", 0)).leased
    assert await store.admit(ns, "p-c", 0) == Admission(admitted=False, wait=0.01, rate=None, leased=False)
    await store.release(ns, "p-a", 1)
    assert (await store.admit(ns, "p-c", 0)).admitted
    # "b" and "c" are held by a process that dies: both slots come back at their expiry, not before.
    clock.now = 1004.999
    assert not (await store.admit(ns, "p-d", 0)).admitted
    clock.now = 1005.0
    assert (await store.admit(ns, "p-d", 0)).admitted
    assert (await store.admit(ns, "p-e", 0)).admitted


@pytest.mark.anyio
async def test_every_key_has_a_ttl_and_no_key_or_value_holds_the_token(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock, max_in_flight=4, key_ttl=30.0, lease_ttl=10.0)
    ns = namespace_for("http://dify.test", TOKEN)
    await redis_client.delete(*store.keys(ns))
    await store.admit(ns, "p-a", 0)
    await store.release(ns, None, 3)
    clock.now = 1001.0
    await store.rate_limited(ns, 1.0)
    await store.release(ns, None, 2)
    keys = [k.decode() for k in await redis_client.keys(f"dify_mgmt_async:{{{ns}}}:*")]
    assert sorted(keys) == sorted(store.keys(ns))
    for key in keys:
        assert 0 < await redis_client.pttl(key) <= 31_000  # key TTL (30 s), plus the 1 s cooldown at most
        assert TOKEN not in key
    state = await redis_client.hgetall(store.keys(ns)[0])
    assert all(TOKEN.encode() not in v for v in state.values())


@pytest.mark.anyio
async def test_scripts_run_by_evalsha(redis_client: aioredis.Redis) -> None:
    store = make_store(redis_client, Clock())
    await redis_client.config_resetstat()
    ns = fresh_namespace()
    for i in range(5):
        await store.admit(ns, f"p-{i}", 0)
        await store.release(ns, f"p-{i}", 1)
    await store.rate_limited(ns, 0.1)
    stats = await redis_client.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] >= 11
    assert "cmdstat_eval" not in stats  # never the script text per call


def test_store_arguments_are_checked() -> None:
    client = aioredis.Redis()
    with pytest.raises(ConfigurationError, match=r"max_in_flight: must be an integer >= 1 or None \(got 0\)"):
        RedisRateLimitStore(client, max_in_flight=0)
    with pytest.raises(ConfigurationError, match=r"lease_ttl: must be a positive number of seconds \(got -1\)"):
        RedisRateLimitStore(client, lease_ttl=-1)
    with pytest.raises(ConfigurationError, match=r"expected a redis://, rediss:// or unix:// URL \(got 'host:1'\)"):
        RedisRateLimitStore("http://user:pw@host:1")  # the password is not echoed


def test_client_option_is_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"rate_limit_store: expected a redis:// URL or a RateLimitStore"):
        DifyManagementClient("http://dify.test", TOKEN, rate_limit_store=42)  # type: ignore[arg-type]
    dify = DifyManagementClient("http://dify.test", TOKEN, rate_limit_store="redis://127.0.0.1:1/0")
    shared = dify._state.engine.shared
    assert shared is not None and shared.namespace == namespace_for("http://dify.test", TOKEN)
    assert DifyManagementClient("http://dify.test", TOKEN)._state.engine.shared is None  # default unchanged


# --- the engine's side: faults, fallback, rejoin ---------------------------------------------


class FlakyStore:
    """A RateLimitStore whose admit fails (raises or hangs) while ``broken`` is set."""

    def __init__(self, *, leased: bool = False, rate: float | None = 7.0) -> None:
        self.broken: str | None = None
        self.leased = leased
        self.rate = rate
        self.admits: list[int] = []  # the successes reported with each admit
        self.released: list[tuple[str | None, int]] = []

    async def admit(self, namespace: str, lease: str, successes: int, known_rate: float | None) -> Admission:
        self.admits.append(successes)
        if self.broken == "raise":
            raise ConnectionError("Connection refused")
        if self.broken == "hang":
            await asyncio.sleep(3600)
        return Admission(True, 0.0, self.rate, self.leased)

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        self.released.append((lease, successes))

    async def rate_limited(self, namespace: str, wait: float) -> float | None:
        return 7.0

    async def aclose(self) -> None:
        pass


def test_flaky_store_is_a_rate_limit_store() -> None:
    assert isinstance(FlakyStore(), RateLimitStore)


@pytest.mark.anyio
async def test_store_down_falls_back_with_one_warning_and_rejoins(caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore()
    shared = SharedState(store, "ns", owned=False, retry_interval=0.05)
    store.broken = "raise"
    with caplog.at_level(logging.WARNING, logger="dify_mgmt_async"):
        assert await shared.admit(None) is False
        assert await shared.admit(None) is False  # within retry_interval: the store is not asked
        assert len(store.admits) == 1 and not shared.active and shared.fallbacks == 2
        await asyncio.sleep(0.06)
        assert await shared.admit(None) is False  # asked again, still down: no second warning
        assert len(store.admits) == 2
        store.broken = None
        await asyncio.sleep(0.06)
        assert await shared.admit(None) is True
    assert shared.active and shared.rate == 7.0
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("rate-limit store unavailable (ConnectionError: Connection refused)")
    assert messages[1] == "rate-limit store reachable again: rejoined the shared rate limits"


@pytest.mark.anyio
async def test_after_a_fault_the_engine_paces_at_this_process_share() -> None:
    store = FlakyStore(rate=30.0)
    shared = SharedState(store, "ns", owned=False)
    engine = RateLimitEngine(8, shared=shared)
    await engine.enter(None)
    engine.leave()
    assert engine.state.rate is None
    shared.processes = 3  # as the store said
    store.broken = "raise"
    await engine.enter(None)  # falls back, seeded with 30 / 3
    engine.leave()
    assert engine.state.rate == 10.0 and shared.take_share() is None  # once per fault


@pytest.mark.anyio
async def test_a_hanging_store_costs_at_most_op_timeout() -> None:
    store = FlakyStore()
    store.broken = "hang"
    shared = SharedState(store, "ns", owned=False, op_timeout=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await shared.admit(None) is False
    assert loop.time() - started < 0.5
    assert await shared.admit(None) is False and len(store.admits) == 1  # set aside: no second wait


@pytest.mark.anyio
async def test_leave_gives_back_a_lease_with_the_successes() -> None:
    store = FlakyStore(leased=True)
    shared = SharedState(store, "ns", owned=False)
    assert await shared.admit(None)
    shared.on_success()
    shared.leave()
    await shared.aclose()
    assert len(store.released) == 1
    lease, successes = store.released[0]
    assert lease is not None and lease.endswith("-0") and successes == 1


@pytest.mark.anyio
async def test_without_a_lease_successes_ride_on_the_next_admit() -> None:
    store = FlakyStore()
    shared = SharedState(store, "ns", owned=False)
    assert await shared.admit(None)
    shared.on_success()
    shared.on_success()
    shared.leave()
    shared.leave()
    assert await shared.admit(None)
    assert store.admits == [0, 2] and store.released == []  # one store call per send, none after it
    shared.on_success()
    await shared.aclose()
    assert store.released == [(None, 1)]  # the last ones are reported on close


@pytest.mark.anyio
async def test_while_nothing_limits_sends_the_store_is_asked_every_20_ms() -> None:
    store = FlakyStore(rate=None)
    shared = SharedState(store, "ns", owned=False)
    for _ in range(5):
        assert await shared.admit(None)
    assert len(store.admits) == 1  # "free" for FREE_FOR seconds
    await asyncio.sleep(0.03)
    assert await shared.admit(None)
    assert len(store.admits) == 2
    shared.on_rate_limited(0.0)  # a 429 here: ask the store at once from now on
    await asyncio.sleep(0)
    assert await shared.admit(None)
    assert len(store.admits) == 3
    await shared.aclose()


@pytest.mark.anyio
async def test_client_keeps_serving_when_the_store_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"data": [], "total": 0, "page": 1, "limit": 20, "has_more": False})

    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with caplog.at_level(logging.WARNING, logger="dify_mgmt_async"):
        async with DifyManagementClient(
            "http://dify.test", TOKEN, transport=httpx.MockTransport(handler), rate_limit_store=url
        ) as dify:
            for _ in range(3):
                await dify.apps.list()
    assert calls == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "rate-limit store unavailable" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.anyio
async def test_store_under_trio_says_it_is_asyncio_only(anyio_backend: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    dify = DifyManagementClient(
        "http://dify.test", TOKEN, transport=httpx.MockTransport(handler), rate_limit_store=FlakyStore()
    )
    with pytest.raises(ConfigurationError, match="a shared store runs under asyncio only"):
        await dify.apps.list()


def _closed_port() -> int:
    from tests.redis_server import free_port

    return free_port()
