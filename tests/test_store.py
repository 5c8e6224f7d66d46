"""The shared rate-limit store: its Lua scripts on a real redis-server (with a pinned clock), and the
engine's side of it (faults, fallback, rejoin, trio) with a store that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from dify_mgmt_async import Admission, ConfigurationError, DifyManagementClient, RateLimitStore, _ratelimit, _store
from dify_mgmt_async._ratelimit import RateLimitEngine, RateState
from dify_mgmt_async._store import BOOK_AHEAD, FREE_FOR, Reply, SharedRateState, namespace_for
from dify_mgmt_async.redis_store import RedisRateLimitStore
from tests.redis_server import RedisServer
from tests.stopped_clock import Clock

TOKEN = "app-SECRET-token-1234567890"


# The shared state is asyncio-only (a store under trio is refused: the last test): one backend, no trio copies.
pytestmark = pytest.mark.asyncio_only


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
    """Until the first 429 at most 4 requests are in flight over every process, +0.5 per success."""
    store = make_store(redis_client, Clock())
    ns = fresh_namespace()
    for lease in "abcd":
        answer = await store.admit(ns, "p-" + lease, "p", 0, 0)
        assert (answer.admitted, answer.wait, answer.leased, answer.limits) == (True, 0.0, True, True)
    answer = await store.admit(ns, "p-e", "p", 0, 0)
    assert (answer.admitted, answer.wait, answer.leased) == (False, 0.01, False)
    await store.release(ns, "p-a", 1)  # one back; the window is 4 + 0.5 floored: only its slot is free
    assert (await store.admit(ns, "p-e", "p", 0, 0)).admitted
    assert not (await store.admit(ns, "p-f", "p", 0, 0)).admitted
    await store.release(ns, "p-b", 1)  # another back: the window is 5, with 3 in flight: two may go
    assert (await store.admit(ns, "p-f", "p", 0, 0)).admitted
    assert (await store.admit(ns, "p-g", "p", 0, 0)).admitted
    assert not (await store.admit(ns, "p-h", "p", 0, 0)).admitted
    # Successes reported with an admit count first; at a window of 64 the window (and its leases) ends.
    assert (await store.admit(ns, "p-h", "p", 116, 0)).leased  # 4 + 0.5 x 118 = 63
    answer = await store.admit(ns, "p-i", "p", 2, 0)
    assert (answer.admitted, answer.leased, answer.limits) == (True, False, False)


@pytest.mark.anyio
async def test_the_first_429_ends_slow_start(redis_client: aioredis.Redis) -> None:
    store = make_store(redis_client, Clock())
    ns = fresh_namespace()
    for lease in "abcd":
        await store.admit(ns, "p-" + lease, "p", 0, 0)
    await store.event(ns, "429", None, "p", 0, 0)
    answer = await store.admit(ns, "p-e", "p", 0, 0)
    assert (answer.admitted, answer.leased, answer.limits) == (True, False, False)


@pytest.mark.anyio
async def test_the_shared_gate_holds_admissions_and_the_schedule(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.close_for(ns, 2.0)
    clock.now = 1000.5
    answer = await store.admit(ns, "p-l1", "p", 0, 0)
    assert (answer.admitted, answer.wait, answer.limits) == (False, 1.5, True)
    assert answer.reply.resume_at == 1002.0 and answer.reply.now == 1000.5
    await store.close_for(ns, 0.5)  # ends before the current resume time: the gate stays as it is
    assert (await store.admit(ns, "p-l2", "p", 0, 0)).wait == 1.5
    delay, _ = await store.reserve(ns, 0.1, "p", 0, 0, 10.0)
    assert delay == pytest.approx(1.5)  # the first slot is when the gate opens
    clock.now = 1002.0
    assert (await store.admit(ns, "p-l3", "p", 0, 0)).admitted


@pytest.mark.anyio
async def test_pacing_follows_gcra_spacing_shared_by_processes(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    delays = [(await store.reserve(ns, 0.1, "p1", 0, 0, 10.0))[0] for _ in range(3)]
    assert delays == [0.0, pytest.approx(0.1, abs=1e-6), pytest.approx(0.2, abs=1e-6)]
    other = make_store(redis_client, clock)  # another process: its next slot comes after these three
    delay, reply = await other.reserve(ns, 0.1, "p2", 0, 0, 12.0)
    assert delay == pytest.approx(0.3, abs=1e-6) and reply.rate == 12.0 and reply.processes == 2
    await other.unreserve(ns, 0.1, reply.now + delay)  # not sent: the slot goes back
    assert (await store.reserve(ns, 0.1, "p1", 0, 0, None))[0] == pytest.approx(0.3, abs=1e-6)
    clock.now = 1005.0  # long after: never a slot in the past
    assert (await store.reserve(ns, 0.1, "p1", 0, 0, None))[0] == 0.0


@pytest.mark.anyio
async def test_a_slot_given_back_before_a_later_one_stays_a_hole_until_that_one_comes_back(
    redis_client: aioredis.Redis,
) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    slots = []
    for _ in range(4):  # at 1000.0, .1, .2, .3
        delay, reply = await store.reserve(ns, 0.1, "p", 0, 0, 10.0)
        slots.append(reply.now + delay)
    assert slots == pytest.approx([1000.0, 1000.1, 1000.2, 1000.3], abs=1e-6)
    await store.unreserve(ns, 0.1, slots[1])  # the slot at .3 is still booked: the schedule stays
    delay, _ = await store.reserve(ns, 0.1, "p", 0, 0, None)
    assert delay == pytest.approx(0.4, abs=1e-6)  # not 0.3, which a send already holds
    await store.unreserve(ns, 0.1, 1000.4)  # the last one: back over it ...
    await store.unreserve(ns, 0.1, slots[3])
    await store.unreserve(ns, 0.1, slots[2])  # ... then over .3 and .2, and the hole at .1 joins them
    assert (await store.reserve(ns, 0.1, "p", 0, 0, None))[0] == pytest.approx(0.1, abs=1e-6)
    clock.now = 1000.35
    await store.unreserve(ns, 0.1, 1000.1)  # given back after its time: the next booking is still never past
    assert (await store.reserve(ns, 0.1, "p", 0, 0, None))[0] == 0.0


@pytest.mark.anyio
async def test_a_slot_given_back_past_the_schedules_end_is_ignored_and_a_stray_hole_never_hands_a_slot_out_twice(
    redis_client: aioredis.Redis,
) -> None:
    """A give-back for a slot the schedule does not reach (the store lost its state since it was booked) is
    ignored; a hole at or past a slot being booked (left by a process that moved the schedule back
    regardless) is dropped, not collapsed over."""
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    holes = store.keys(ns)[4]
    await store.reserve(ns, 0.1, "p", 0, 0, 10.0)  # at 1000.0: the schedule ends at .1
    await store.unreserve(ns, 0.1, 1000.3)  # ends past .1: not in this schedule
    assert await redis_client.zcard(holes) == 0
    await redis_client.zadd(holes, {"1000.300000|0.100000000": 1000.3})  # a stray hole all the same
    slots = []
    for _ in range(3):
        delay, reply = await store.reserve(ns, 0.1, "p", 0, 0, None)
        slots.append(reply.now + delay)
        assert await redis_client.zcard(holes) == 0  # dropped at the first: it lay past that slot
    assert slots == pytest.approx([1000.1, 1000.2, 1000.3], abs=1e-6)
    await store.unreserve(ns, 0.1, slots[1])  # .3 is still held: a hole, the schedule stays
    assert (await store.reserve(ns, 0.1, "p", 0, 0, None))[0] == pytest.approx(0.4, abs=1e-6)


@pytest.mark.anyio
async def test_holes_already_due_are_dropped(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    holes = store.keys(ns)[4]
    for _ in range(4):  # .0 .1 .2 .3
        await store.reserve(ns, 0.1, "p", 0, 0, 10.0)
    await store.unreserve(ns, 0.1, 1000.1)
    await store.unreserve(ns, 0.1, 1000.2)
    assert await redis_client.zcard(holes) == 2
    clock.now = 1000.15
    await store.reserve(ns, 0.1, "p", 0, 0, None)  # the hole at .1 is due: gone
    assert await redis_client.zrange(holes, 0, -1) == [b"1000.200000|0.100000000"]
    clock.now = 1000.25
    await store.unreserve(ns, 0.1, 1000.3)  # so is .2's, dropped as .3 comes back
    assert await redis_client.zcard(holes) == 1


@pytest.mark.anyio
async def test_events_carry_every_process_successes_and_come_back_once(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.release(ns, None, 7)  # process 1's successes
    await store.reserve(ns, 0.01, "p2", 5, 0, None)  # process 2's ride on its reserve
    clock.now = 1000.25
    reply = await store.event(ns, "429", None, "p1", 1, 0)
    started, limited = (1, 1000.0, "start", 0.0), (2, 1000.25, "429", 13.0)  # 7 + 5 + 1 successes then
    assert reply.head == 2 and reply.events == (started, limited)  # the first 429 comes after its start
    clock.now = 1000.5
    reply = await store.event(ns, "adopt", 42.5, "p2", 0, 0)
    assert reply.events == (started, limited, (3, 1000.5, "adopt", 42.5))
    assert reply.rate == 42.5  # an advertised rate is also the rate newcomers start from
    _, reply = await store.reserve(ns, 0.01, "p1", 0, 2, None)
    assert reply.events == ((3, 1000.5, "adopt", 42.5),)  # only what p1 has not seen
    _, reply = await store.reserve(ns, 0.01, "p1", 0, 9, None)  # seen past the head: the store restarted
    assert [e[0] for e in reply.events] == [1, 2, 3]


@pytest.mark.anyio
async def test_the_first_429_is_preceded_by_when_the_first_success_was_reported(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    await store.admit(ns, "p1-1", "p1", 0, 0)  # no success yet: nothing to date
    clock.now = 1000.125
    await store.admit(ns, "p1-2", "p1", 3, 0)  # the first successes reported
    clock.now = 1000.375
    await store.release(ns, None, 4)  # later ones do not move it
    clock.now = 1000.5
    reply = await store.event(ns, "429", None, "p2", 1, 0)
    assert reply.events == ((1, 1000.125, "start", 0.0), (2, 1000.5, "429", 8.0))
    clock.now = 1000.75
    reply = await store.event(ns, "429", 87.5, "p2", 0, 2)  # the rate that met it comes just before it
    assert reply.events == ((3, 1000.75, "tried", 87.5), (4, 1000.75, "429", 8.0))  # and no second start


@pytest.mark.anyio
async def test_processes_present_in_the_last_two_seconds_are_counted(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock)
    ns = fresh_namespace()
    assert (await store.admit(ns, "p1-1", "p1", 0, 0)).reply.processes == 1
    assert (await store.admit(ns, "p2-1", "p2", 0, 0)).reply.processes == 2
    assert (await store.admit(ns, "p1-2", "p1", 0, 0)).reply.processes == 2  # the same process again
    clock.now = 1002.5
    assert (await store.admit(ns, "p3-1", "p3", 0, 0)).reply.processes == 1  # p1 and p2 fell silent


@pytest.mark.anyio
async def test_in_flight_cap_and_lease_expiry(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock, max_in_flight=2, lease_ttl=5.0)
    ns = fresh_namespace()
    await store.event(ns, "429", None, "p", 0, 0)  # past slow start: the cap alone applies
    assert (await store.admit(ns, "p-a", "p", 0, 0)).leased
    assert (await store.admit(ns, "p-b", "p", 0, 0)).leased
    answer = await store.admit(ns, "p-c", "p", 0, 0)
    assert (answer.admitted, answer.wait, answer.leased, answer.limits) == (False, 0.01, False, True)
    await store.release(ns, "p-b", 1)  # the lease that request held, not the oldest
    assert (await store.admit(ns, "p-c", "p", 0, 0)).admitted
    assert not (await store.admit(ns, "p-d", "p", 0, 0)).admitted
    # "a" and "c" are held by a process that dies: both slots come back at their expiry, not before.
    clock.now = 1004.999
    assert not (await store.admit(ns, "p-d", "p", 0, 0)).admitted
    clock.now = 1005.0
    assert (await store.admit(ns, "p-d", "p", 0, 0)).admitted
    assert (await store.admit(ns, "p-e", "p", 0, 0)).admitted


@pytest.mark.anyio
async def test_every_key_has_a_ttl_and_no_key_or_value_holds_the_token(redis_client: aioredis.Redis) -> None:
    clock = Clock(1000.0)
    store = make_store(redis_client, clock, max_in_flight=4, key_ttl=30.0, lease_ttl=10.0)
    ns = namespace_for("http://dify.test", TOKEN)
    await redis_client.delete(*store.keys(ns))
    await store.admit(ns, "p-a", "p", 0, 0)
    await store.release(ns, None, 3)
    clock.now = 1001.0
    await store.event(ns, "429", None, "p", 0, 0)
    await store.close_for(ns, 1.0)
    delay, reply = await store.reserve(ns, 0.1, "p", 2, 0, 10.0)
    await store.reserve(ns, 0.1, "p", 0, 0, None)
    await store.unreserve(ns, 0.1, reply.now + delay)  # a hole: the slot after it is still booked
    keys = [k.decode() for k in await redis_client.keys(f"dify_mgmt_async:{{{ns}}}:*")]
    assert sorted(keys) == sorted(store.keys(ns))
    for key in keys:
        assert 0 < await redis_client.pttl(key) <= 30_000
        assert TOKEN not in key
    state = await redis_client.hgetall(store.keys(ns)[0])
    assert all(TOKEN.encode() not in v for v in state.values())
    events = await redis_client.lrange(store.keys(ns)[3], 0, -1)
    assert all(TOKEN.encode() not in v for v in events)


@pytest.mark.anyio
async def test_scripts_run_by_evalsha(redis_client: aioredis.Redis) -> None:
    store = make_store(redis_client, Clock())
    await redis_client.config_resetstat()
    ns = fresh_namespace()
    for i in range(5):
        await store.admit(ns, f"p-{i}", "p", 0, 0)
        await store.release(ns, f"p-{i}", 1)
    await store.event(ns, "429", None, "p", 0, 0)
    delay, reply = await store.reserve(ns, 0.1, "p", 0, 0, 10.0)
    await store.unreserve(ns, 0.1, reply.now + delay)
    await store.close_for(ns, 0.1)
    stats = await redis_client.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] >= 14
    assert "cmdstat_eval" not in stats  # never the script text per call


@pytest.mark.anyio
async def test_a_store_opened_from_a_url_holds_at_most_max_connections_and_calls_wait_for_one(
    own_redis_server: RedisServer,
) -> None:
    # redis-py's own pool opens a connection per concurrent call (and 8.x fails the 101st); here 60 calls share 3.
    store = RedisRateLimitStore(own_redis_server.url, max_connections=3)
    ns = fresh_namespace()
    watcher = aioredis.Redis.from_url(own_redis_server.url)
    try:
        results = await asyncio.gather(*(store.release(ns, None, 1) for _ in range(60)), return_exceptions=True)
        assert results == [None] * 60
        info = await watcher.info("clients")
        assert info["connected_clients"] == 3 + 1  # the store's three and the watcher
        reply = await store.event(ns, "429", 50.0, "p1", 0, 0)
        assert reply.events[-1][2:] == ("429", 60.0)  # every call's successes arrived
    finally:
        await store.aclose()
        await watcher.aclose()


def test_store_arguments_are_checked() -> None:
    client = aioredis.Redis()
    with pytest.raises(ConfigurationError, match=r"max_in_flight: must be an integer >= 1 or None \(got 0\)"):
        RedisRateLimitStore(client, max_in_flight=0)
    with pytest.raises(ConfigurationError, match=r"lease_ttl: must be a positive number of seconds \(got -1\)"):
        RedisRateLimitStore(client, lease_ttl=-1)
    with pytest.raises(ConfigurationError, match=r"max_connections: must be an integer >= 1 \(got 0\)"):
        RedisRateLimitStore("redis://127.0.0.1:1/0", max_connections=0)
    with pytest.raises(ConfigurationError, match=r"expected a redis://, rediss:// or unix:// URL \(got 'host:1'\)"):
        RedisRateLimitStore("http://user:pw@host:1")  # the password is not echoed


def test_client_option_is_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"rate_limit_store: expected a redis:// URL or a RateLimitStore"):
        DifyManagementClient("http://dify.test", TOKEN, rate_limit_store=42)  # type: ignore[arg-type]
    dify = DifyManagementClient("http://dify.test", TOKEN, rate_limit_store="redis://127.0.0.1:1/0")
    state = dify._state.engine.state
    assert isinstance(state, SharedRateState) and state.namespace == namespace_for("http://dify.test", TOKEN)
    default = DifyManagementClient("http://dify.test", TOKEN)._state.engine.state
    assert type(default) is RateState and not default.shared  # default unchanged


def test_a_store_written_for_the_old_unreserve_is_refused_when_the_client_is_built() -> None:
    class OldStore(FlakyStore):
        async def unreserve(self, namespace: str, interval: float) -> None:  # type: ignore[override]
            pass

    with pytest.raises(
        ConfigurationError, match=r"rate_limit_store: OldStore\.unreserve must take \(namespace, interval, slot\)"
    ):
        DifyManagementClient("http://dify.test", TOKEN, rate_limit_store=OldStore())
    DifyManagementClient("http://dify.test", TOKEN, rate_limit_store=FlakyStore())  # the current protocol


# --- the engine's side: faults, fallback, rejoin ---------------------------------------------


def reply(*events: tuple[int, float, str, float], rate: float | None = None, head: int = 0, now: float = 0.0) -> Reply:
    return Reply(
        now=now, resume_at=0.0, rate=rate, head=max([head, *(e[0] for e in events)]), processes=0, events=events
    )


class FlakyStore:
    """A RateLimitStore that records its calls, and fails (raises or hangs) while ``broken`` is set."""

    def __init__(self, *, leased: bool = False, limits: bool = True, rate: float | None = None) -> None:
        self.broken: str | None = None
        self.leased = leased
        self.limits = limits
        self.rate = rate
        self.processes = 1
        self.admits: list[int] = []  # the successes reported with each admit
        self.reserves: list[float] = []  # the interval of each slot booked
        self.released: list[tuple[str | None, int]] = []
        self.logged: list[tuple[str, float | None, int]] = []
        self.events: list[tuple[int, float, str, float]] = []
        self.tat = 0.0
        self.offset = 0.0  # the store's clock minus ours
        self.unreserved: list[tuple[float, float]] = []  # (interval, slot on the store's clock) given back
        self.ok = 0
        self.first: float | None = None  # when the first success was reported

    def _count(self, successes: int) -> None:
        self.ok += successes
        if successes and self.first is None:
            self.first = _store._loop_time()

    def _reply(self, seen: int) -> Reply:
        now = _store._loop_time() + self.offset
        news = tuple(e for e in self.events if e[0] > seen)
        head = self.events[-1][0] if self.events else 0
        return Reply(now, 0.0, self.rate, head, self.processes, news)

    async def _check(self) -> None:
        if self.broken == "raise":
            raise ConnectionError("Connection refused")
        if self.broken == "hang":
            await asyncio.sleep(3600)

    async def admit(self, namespace: str, lease: str, pid: str, successes: int, seen: int) -> Admission:
        self.admits.append(successes)
        self._count(successes)
        await self._check()
        return Admission(True, 0.0, self.leased, self.limits, self._reply(seen))

    async def reserve(
        self, namespace: str, interval: float, pid: str, successes: int, seen: int, rate: float | None
    ) -> tuple[float, Reply]:
        self._count(successes)
        self.reserves.append(interval)
        await self._check()
        now = _store._loop_time() + self.offset
        at = max(self.tat, now)
        self.tat = at + interval
        return at - now, self._reply(seen)

    async def unreserve(self, namespace: str, interval: float, slot: float) -> None:
        self.unreserved.append((interval, slot))
        if abs(self.tat - (slot + interval)) <= 1e-6:
            self.tat = slot

    async def close_for(self, namespace: str, seconds: float) -> None:
        pass

    async def event(self, namespace: str, kind: str, value: float | None, pid: str, successes: int, seen: int) -> Reply:
        self._count(successes)
        self.logged.append((kind, value, successes))
        await self._check()
        now = _store._loop_time()
        if kind == "429" and self.first is not None and not any(e[2] == "429" for e in self.events):
            self.events.append((len(self.events) + 1, self.first, "start", 0.0))
        if kind == "429" and value is not None:
            self.events.append((len(self.events) + 1, now, "tried", value))
        self.events.append((len(self.events) + 1, now, kind, float(self.ok) if kind == "429" else float(value or 0)))
        return self._reply(seen)

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        self._count(successes)
        self.released.append((lease, successes))

    async def aclose(self) -> None:
        pass


def test_flaky_store_is_a_rate_limit_store() -> None:
    assert isinstance(FlakyStore(), RateLimitStore)


@pytest.mark.anyio
async def test_store_down_falls_back_with_one_warning_and_rejoins(
    caplog: pytest.LogCaptureFixture, clock: Clock
) -> None:
    store = FlakyStore()
    shared = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    store.broken = "raise"
    with caplog.at_level(logging.WARNING, logger="dify_mgmt_async"):
        fault = clock.now
        assert await shared.admit(None) is None
        clock.now = fault + 0.049
        assert await shared.admit(None) is None  # within retry_interval: the store is not asked
        assert len(store.admits) == 1 and not shared.active and shared.fallbacks == 2
        clock.now = fault + 0.05
        assert await shared.admit(None) is None  # retry_interval after the fault: asked again, still down
        assert len(store.admits) == 2  # no second warning (below)
        store.broken = None
        clock.now += 0.05
        store.leased = True
        assert await shared.admit(None) is not None
    assert shared.active
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0] == (
        "rate-limit store unavailable (ConnectionError: Connection refused): this process uses its in-process "
        "rate limits, and tries the store again every 0.05s"
    )
    assert messages[1] == "rate-limit store reachable again: rejoined the shared rate limits"


@pytest.mark.anyio
async def test_one_429_teaches_every_process_once_in_the_store_order() -> None:
    """Two engines on one store: a 429 met by one reaches both estimators, with every process's successes."""
    store = FlakyStore()
    engines = [RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False)) for _ in range(2)]
    for engine in engines:
        assert await engine.enter(None) is None  # first contact: no history to replay
        engine.on_success()
        engine.leave()
    for _ in range(10):
        engines[1].on_success()  # p2's successes, reported with its next call
    await engines[1].state.reserve(asyncio.get_running_loop().time(), 0.001)
    engines[0].on_rate_limited(None)
    assert engines[0].state.rate is None  # learned when the store's answer brings the event back
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.events[1][2:] == ("429", 12.0)  # 1 + 1 + 10 successes of both processes (after the start)
    rate = engines[0].state.rate
    assert rate is not None and engines[0].estimator.successes == 12
    await engines[1].state.reserve(asyncio.get_running_loop().time(), 0.001)  # p2 hears of it
    assert engines[1].state.rate == rate and engines[1].estimator.rate == rate  # the same estimate
    await engines[1].state.reserve(asyncio.get_running_loop().time(), 0.001)
    assert len(store.events) == 2 and engines[1].estimator.successes == 12  # replayed once
    for engine in engines:
        assert isinstance(engine.state, SharedRateState)
        await engine.state.aclose()


@pytest.mark.anyio
async def test_a_process_that_started_late_estimates_from_the_first_success_of_any(clock: Clock) -> None:
    """The first estimate divides every process's successes by the time since the first of them (the store's
    ``start``), not since this process's own first one: that would be 10x too high here."""
    store = FlakyStore()
    early, late = (RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False)) for _ in range(2))
    early.leave(await early.enter(None))
    for _ in range(20):
        early.on_success()
    early.leave(await early.enter(None))  # reports its 20 successes: the first ones, at 1000.0
    clock.now = 1000.9
    late.leave(await late.enter(None))
    late.on_success()  # this process's first success, 0.9 s after the first of any
    late.leave(await late.enter(None))
    clock.now = 1001.0
    early.on_rate_limited(None)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [e[1:3] for e in store.events] == [(1000.0, "start"), (1001.0, "429")]
    await late.state.reserve(clock.now, 0.001)  # the late process hears of both
    assert late.state.rate == pytest.approx(21.0) and early.state.rate == pytest.approx(21.0)  # 21 in 1 s
    for engine in (early, late):
        assert isinstance(engine.state, SharedRateState)
        await engine.state.aclose()


@pytest.mark.anyio
async def test_a_rate_cut_sends_a_task_waiting_on_the_shared_schedule_to_book_again_behind_it(clock: Clock) -> None:
    """A slot booked at the old rate is not used after a cut: the task books again at the new interval, after
    every slot already booked (other processes hold some), and the shared schedule is not rewound."""
    store = FlakyStore(limits=False)
    engine = RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False))
    engine.leave(await engine.enter(None))
    engine.learn("adopt", clock.now, 100.0)  # the clock stands still: the rate does not grow while pacing
    store.tat = clock.now + 0.05  # slots booked ahead by other processes
    waiting = asyncio.get_running_loop().create_task(engine.enter(None))
    await asyncio.sleep(0)  # the task's first step books its slot
    assert store.reserves == [pytest.approx(0.01)]
    booked = store.tat
    engine.learn("429", clock.now, 0.0)  # a probe met a 429 at 100/s: 90/s now
    assert engine.state.rate == pytest.approx(90.0)
    engine.leave(await waiting)
    assert store.reserves == [pytest.approx(0.01), pytest.approx(1 / 90)]  # booked again, at the new rate
    assert store.tat == pytest.approx(booked + 1 / 90)  # behind the old slots: nothing rewound
    assert isinstance(engine.state, SharedRateState)
    await engine.state.aclose()


@pytest.mark.anyio
async def test_a_cancelled_send_gives_back_its_own_slot_on_the_store_clock(clock: Clock) -> None:
    """The store's clock reads 500 s more than ours. Two sends book the slots at +0.01 s and +0.02 s; the first is
    cancelled while it waits. The store is told which slot, on its own clock, and the interval it was booked
    with; the later slot is still booked, so the schedule keeps its end (the old protocol moved it back one
    interval, and the next booking shared the second send's slot)."""
    store = FlakyStore(limits=False)
    store.offset = 500.0
    engine = RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False))
    engine.leave(await engine.enter(None))
    engine.learn("adopt", clock.now, 100.0)
    store.tat = clock.now + 500.0 + 0.01  # another process holds the next slot
    first = asyncio.get_running_loop().create_task(engine.enter(None))
    await asyncio.sleep(0)
    second = asyncio.get_running_loop().create_task(engine.enter(None))
    await asyncio.sleep(0)
    assert store.tat == pytest.approx(clock.now + 500.03, abs=1e-9)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    for _ in range(3):
        await asyncio.sleep(0)  # the give-back is sent without holding the caller up
    assert store.unreserved == [(pytest.approx(0.01, abs=1e-12), pytest.approx(clock.now + 500.01, abs=1e-9))]
    assert store.tat == pytest.approx(clock.now + 500.03, abs=1e-9)
    engine.leave(await second)
    used = clock.now + 0.02
    clock.now += _store.KEEP_SLOTS + 0.1
    await engine.state.reserve(clock.now, 0.01)  # bookings forget slots that far past
    engine.state.unreserve(0.01, used)  # so a stray give-back of one sends nothing
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(store.unreserved) == 1
    assert isinstance(engine.state, SharedRateState)
    await engine.state.aclose()


@pytest.mark.anyio
async def test_a_slot_booked_before_the_store_was_set_aside_is_not_given_back_to_it_after_the_rejoin(
    clock: Clock,
) -> None:
    store = FlakyStore(limits=False)
    state = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    state.set_rate(100.0)
    store.tat = clock.now + 0.5
    before = clock.now + await state.reserve(clock.now, 0.01)  # on the store's schedule
    store.broken = "raise"
    await state.reserve(clock.now, 0.01)  # the store is set aside; its schedule is not ours meanwhile
    store.broken = None
    clock.now += 0.1
    await state.reserve(clock.now, 0.01)  # rejoined
    assert state.active
    state.unreserve(0.01, before)
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.unreserved == []
    await state.aclose()


@pytest.mark.anyio
async def test_a_slot_booked_at_a_rescaled_interval_is_given_back_with_that_interval(clock: Clock) -> None:
    """A send that waits its turn to book while a cut is heard books at the new spacing (0.02 s, not 0.01 s):
    the store is given that slot back with the interval it holds."""
    store = FlakyStore(limits=False)
    state = SharedRateState(store, "ns", owned=False)
    state.set_rate(100.0)
    store.tat = clock.now + 0.01
    for _ in range(BOOK_AHEAD):
        await state.reserve(clock.now, 0.01)
    third = asyncio.get_running_loop().create_task(state.reserve(clock.now, 0.01))
    await asyncio.sleep(0)
    assert not third.done()  # two slots are booked ahead already: it waits for the first to come
    state.set_rate(50.0)
    delay = await third
    assert store.reserves[-1] == pytest.approx(0.02, abs=1e-12)
    held = store.tat - 0.02  # its slot, on the store's clock
    state.unreserve(0.01, clock.now + delay)  # the engine's own interval
    for _ in range(3):
        await asyncio.sleep(0)
    assert store.unreserved == [(pytest.approx(0.02, abs=1e-12), pytest.approx(held, abs=1e-9))]
    await state.aclose()


@pytest.mark.anyio
async def test_every_process_cuts_from_the_rate_that_met_the_429_not_its_own() -> None:
    """Each process's rate grows on its own between events; a 429 brings the rate it met, so all cut alike."""
    store = FlakyStore(limits=False)
    engines = [RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False)) for _ in range(2)]
    now = asyncio.get_running_loop().time()
    for engine, rate in zip(engines, (100.0, 130.0), strict=True):
        engine.leave(await engine.enter(None))
        engine.learn("adopt", now, rate)
    engines[1].on_rate_limited(None)  # met at 130/s
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [e[2:] for e in store.events] == [("tried", 130.0), ("429", 0.0)]
    await engines[0].state.reserve(asyncio.get_running_loop().time(), 0.001)  # process 0 hears of it
    assert engines[0].state.rate == pytest.approx(117.0) and engines[1].state.rate == pytest.approx(117.0)
    for engine in engines:
        assert isinstance(engine.state, SharedRateState)
        await engine.state.aclose()


@pytest.mark.anyio
async def test_a_queue_drains_when_every_process_share_of_it_is_under_a_second() -> None:
    """The processes take turns on one schedule: the queue the shared rate drains is P times this one's."""
    state = SharedRateState(FlakyStore(), "ns", owned=False)
    engine = RateLimitEngine(64, state=state)
    state.processes = 4
    engine.limiter.in_flight = 50  # 200 across 4 processes: 2 s at 100/s, a long queue
    assert not engine._draining(100.0) and engine._long_queue
    engine.limiter.in_flight = 25  # 100: a whole second left
    assert not engine._draining(100.0)
    engine.limiter.in_flight = 24  # 96: under a second, draining (alone it would have been since 99)
    assert engine._draining(100.0)
    state._set_aside(ConnectionError("down"))  # a store set aside: this process's share of the rate, its own queue
    engine.limiter.in_flight = 30
    assert not engine._draining(30.0) and engine._draining(31.0)
    await state.aclose()


async def _joined(store: FlakyStore, processes: int) -> list[RateLimitEngine]:
    """Engines of ``processes`` processes on ``store``, each having sent once (so each has met the store)."""
    engines = [RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False)) for _ in range(processes)]
    for engine in engines:
        engine.leave(await engine.enter(None))
    return engines


@pytest.mark.anyio
async def test_an_advertised_rate_reaches_every_process() -> None:
    store = FlakyStore()
    engines = await _joined(store, 2)
    headers = httpx.Headers({"x-ratelimit-remaining": "1", "x-ratelimit-reset": "2"})
    engines[0].on_success(headers=headers)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.logged == [("adopt", 0.5, 1)]  # 1 left, spread over the 2 s to the reset
    assert engines[0].state.rate == 0.5
    await engines[1].state.reserve(asyncio.get_running_loop().time(), 0.001)
    assert engines[1].state.rate == 0.5 and engines[1].estimator.measured


@pytest.mark.anyio
async def test_a_policy_adopted_by_one_process_is_not_adopted_again_by_another_or_a_latecomer() -> None:
    """A policy comes with every answer to every process: adopted once for all (its 429s may then teach less)."""
    store = FlakyStore()
    engines = await _joined(store, 2)
    policy = httpx.Headers({"ratelimit-policy": '"p";q=100;w=1', "ratelimit": '"p";r=1;t=1'})
    engines[0].on_success(headers=policy)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await engines[1].state.reserve(asyncio.get_running_loop().time(), 0.001)  # hears of it
    assert engines[1].state.rate == 100.0
    engines[1].on_success(headers=policy)
    (late,) = await _joined(store, 1)
    await late.state.reserve(asyncio.get_running_loop().time(), 0.001)
    late.on_success(headers=policy)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [event for event in store.logged if event[0] == "adopt"] == [("adopt", 100.0, 1)]


@pytest.mark.anyio
async def test_a_newcomer_does_not_reset_a_store_that_already_paces_to_a_policy_it_first_reads() -> None:
    """The adoption was trimmed from the log (or the rate was learned from 429s): the store's rate stands."""
    store = FlakyStore(rate=40.0)
    store.events = [(65, 0.0, "429", 5.0)]
    (engine,) = await _joined(store, 1)
    await engine.state.reserve(asyncio.get_running_loop().time(), 0.001)
    assert engine.state.rate == 40.0
    engine.on_success(headers=httpx.Headers({"ratelimit-policy": '"p";q=100;w=1', "ratelimit": '"p";r=1;t=1'}))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.logged == [] and engine.state.rate == 40.0


@pytest.mark.anyio
async def test_a_newcomer_that_missed_the_start_of_the_log_starts_from_the_reported_rate() -> None:
    store = FlakyStore(rate=40.0)
    store.events = [(65, 0.0, "429", 5.0), (66, 0.5, "429", 30.0)]  # the first 64 were trimmed
    engine = RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False))
    engine.leave(await engine.enter(None))
    assert engine.state.rate == 40.0 and engine.estimator.successes == 0


@pytest.mark.anyio
async def test_a_newcomer_learns_the_whole_log_while_the_store_holds_it() -> None:
    """Not the reported rate (a start-up guess here, 40/s): the estimate every process reached from the log."""
    log = [(1, 100.0, "start", 0.0), (2, 100.05, "429", 12.0), (3, 100.2, "429", 14.0), (4, 100.4, "429", 30.0)]
    reference = RateLimitEngine(8)
    for _, at, kind, value in log:
        reference.learn(kind, at, value)
    store = FlakyStore(rate=40.0)
    store.events = list(log)
    engine = RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False))
    engine.leave(await engine.enter(None))
    assert engine.estimator.successes == 30 and engine.estimator.measured
    assert engine.state.rate == pytest.approx(reference.state.rate) and engine.state.rate != 40.0
    assert isinstance(engine.state, SharedRateState)
    await engine.state.aclose()


@pytest.mark.anyio
async def test_after_a_fault_the_engine_paces_at_this_process_share(clock: Clock) -> None:
    store = FlakyStore(rate=30.0, limits=False)
    state = SharedRateState(store, "ns", owned=False)
    engine = RateLimitEngine(8, state=state)
    engine.leave(await engine.enter(None))
    assert engine.state.rate == 30.0  # adopted the store's
    state.processes = 3  # as the store said
    store.broken = "raise"
    engine.leave(await engine.enter(None))  # falls back, at 30 / 3
    assert engine.state.rate == pytest.approx(10.0, rel=1e-6) and state.fallbacks == 0
    engine.leave(await engine.enter(None))
    assert engine.state.rate == pytest.approx(10.0, rel=1e-6)  # once per fault: not 10 / 3 again


@pytest.mark.anyio
async def test_a_retry_that_finds_the_store_still_down_keeps_the_in_process_schedule(clock: Clock) -> None:
    """At 10/s on the in-process schedule since the store went down: the retry 50 ms later fails too, and the send
    that asked books the slot after the two already booked (0.15 s ahead). Dropping the schedule there sent it at
    once, 50 ms before the slot due next: two sends closer than 1/rate, which a small burst refuses."""
    store = FlakyStore()
    state = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    state.set_rate(10.0)
    store.broken = "raise"
    fault = clock.now
    assert await state.reserve(fault, 0.1) == 0.0  # the store fails: set aside, booked in process
    assert await state.reserve(fault, 0.1) == pytest.approx(0.1)  # within retry_interval: in process
    clock.now = fault + 0.05
    assert await state.reserve(clock.now, 0.1) == pytest.approx(0.15)  # asked again, still down
    assert len(store.reserves) == 2 and not state.active


@pytest.mark.anyio
async def test_a_fault_after_a_rejoin_starts_a_fresh_in_process_schedule(clock: Clock) -> None:
    """The in-process slots booked in an earlier outage (up to 0.2 s after it) belong to a schedule long gone:
    when the store fails again after a rejoin, the first send in process goes at once."""
    store = FlakyStore()
    state = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    state.set_rate(10.0)
    store.broken = "raise"
    fault = clock.now
    assert await state.reserve(fault, 0.1) == 0.0
    assert await state.reserve(fault, 0.1) == pytest.approx(0.1)
    store.broken = None
    clock.now = fault + 0.05
    assert await state.reserve(clock.now, 0.1) == 0.0 and state.active  # rejoined: the store's schedule
    store.broken = "raise"
    assert await state.reserve(clock.now, 0.1) == 0.0 and not state.active  # set aside again: a fresh schedule


class LateStore(FlakyStore):
    """Each booking takes ``took`` seconds of the test's clock; it then fails (a hang cut off at ``op_timeout``)
    while ``broken``, or answers."""

    def __init__(self, clock: Clock, took: float) -> None:
        super().__init__()
        self.clock = clock
        self.took = took

    async def reserve(
        self, namespace: str, interval: float, pid: str, successes: int, seen: int, rate: float | None
    ) -> tuple[float, Reply]:
        self.clock.now += self.took
        if self.broken:
            self.reserves.append(interval)
            raise TimeoutError
        return await super().reserve(namespace, interval, pid, successes, seen, rate)


@pytest.mark.anyio
async def test_a_slot_booked_in_process_after_a_store_hung_counts_from_when_it_failed(clock: Clock) -> None:
    """The store hung 50 ms before failing: the first slot in process is then (0.05 s after asking), and the next
    send, asking then, books 0.1 s after it. From the time asked, the first slot was already 50 ms past, and the
    next one came 50 ms after it: closer than 1/rate, which a small burst refuses."""
    store = LateStore(clock, took=0.05)
    store.broken = "hang"
    state = SharedRateState(store, "ns", owned=False, retry_interval=1.0)
    state.set_rate(10.0)
    asked = clock.now
    assert await state.reserve(asked, 0.1) == pytest.approx(0.05, abs=1e-9)
    assert clock.now == asked + 0.05 and not state.active
    assert await state.reserve(clock.now, 0.1) == pytest.approx(0.1, abs=1e-9)  # set aside: in process


@pytest.mark.anyio
async def test_a_slow_store_answer_counts_its_delay_from_the_answer(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the schedule until 0.15 s from now, and the store takes 50 ms to answer: the send
    sleeps 0.1 s from the answer and goes at 0.15 s, not 0.05 s later. The next booking, asked then, is due 0.1 s
    after it: ``reserve`` says 0.1 s from the time asked (the store, 0.05 s from its answer)."""
    store = LateStore(clock, took=0.05)
    store.tat = clock.now + 0.15
    state = SharedRateState(store, "ns", owned=False)
    engine = RateLimitEngine(8, state=state)
    state.set_rate(10.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(_ratelimit.anyio, "sleep", sleep)
    asked = clock.now
    assert await engine._pace(None) is True
    assert slept == [pytest.approx(0.1, abs=1e-9)] and clock.now == pytest.approx(asked + 0.15, abs=1e-9)
    assert await state.reserve(clock.now, 0.1) == pytest.approx(0.1, abs=1e-9)


@pytest.mark.anyio
async def test_a_send_that_waited_its_turn_to_book_while_the_store_was_set_aside_does_not_ask_it() -> None:
    """Three sends book at once on a hanging store: two ask it (2 slots ahead at most), the third waits its turn.
    The first answer is the store's timeout: the store is set aside, and the third books in process at once
    instead of asking the hanging store for another op_timeout."""
    store = FlakyStore()
    store.broken = "hang"
    state = SharedRateState(store, "ns", owned=False, op_timeout=0.05)
    state.set_rate(10.0)
    started = asyncio.get_running_loop().time()
    delays = await asyncio.gather(*(state.reserve(started, 0.1) for _ in range(3)))
    assert len(store.reserves) == 2 and not state.active  # the third never asked: one op_timeout, not two
    first, second, third = sorted(delays)  # booked in process from the fault, op_timeout after the time asked
    assert first > 0.04 and [second - first, third - first] == pytest.approx([0.1, 0.2], abs=1e-6)


@pytest.mark.anyio
async def test_a_hanging_store_costs_at_most_op_timeout() -> None:
    store = FlakyStore()
    store.broken = "hang"
    shared = SharedRateState(store, "ns", owned=False, op_timeout=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await shared.admit(None) is None
    assert loop.time() - started < 0.5
    assert await shared.admit(None) is None and len(store.admits) == 1  # set aside: no second wait


@pytest.mark.anyio
async def test_leave_gives_back_the_lease_the_request_held() -> None:
    store = FlakyStore(leased=True)
    engine = RateLimitEngine(8, state=SharedRateState(store, "ns", owned=False))
    first = await engine.enter(None)
    second = await engine.enter(None)
    assert first is not None and second is not None and first != second
    engine.on_success()
    engine.leave(second)  # the later one ends first: its own lease goes back, not the oldest
    await asyncio.sleep(0)
    assert store.released == [(second, 1)]
    engine.leave(first)
    assert isinstance(engine.state, SharedRateState)
    await engine.state.aclose()
    assert store.released == [(second, 1), (first, 0)]


@pytest.mark.anyio
async def test_without_a_lease_successes_ride_on_the_next_admit() -> None:
    store = FlakyStore()
    shared = SharedRateState(store, "ns", owned=False)
    assert await shared.admit(None) is None
    shared.succeeded()
    shared.succeeded()
    shared.release(None)
    shared.release(None)
    assert await shared.admit(None) is None
    assert store.admits == [0, 2] and store.released == []  # one store call per send, none after it
    shared.succeeded()
    await shared.aclose()
    assert store.released == [(None, 1)]  # the last ones are reported on close


@pytest.mark.anyio
async def test_while_nothing_limits_sends_the_store_is_asked_every_20_ms(clock: Clock) -> None:
    store = FlakyStore(limits=False)
    shared = SharedRateState(store, "ns", owned=False)
    asked = clock.now
    for _ in range(5):
        await shared.admit(None)
    clock.now = asked + FREE_FOR - 0.001
    await shared.admit(None)
    assert len(store.admits) == 1  # "free" for FREE_FOR seconds
    clock.now = asked + FREE_FOR
    await shared.admit(None)
    assert len(store.admits) == 2
    shared.set_rate(10.0)  # pacing: the schedule asks the store at each send, admit no more
    clock.now += 1.0
    await shared.admit(None)
    assert len(store.admits) == 2
    await shared.aclose()


class HeldStore(FlakyStore):
    """Its admit answers only once ``answer`` is set (a slow Redis)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answer = asyncio.Event()

    async def admit(self, namespace: str, lease: str, pid: str, successes: int, seen: int) -> Admission:
        self.admits.append(successes)
        await self.answer.wait()
        return Admission(True, 0.0, self.leased, self.limits, self._reply(seen))


async def _renewing(store: HeldStore, clock: Clock) -> tuple[SharedRateState, asyncio.Future[str | None]]:
    """A shared state whose last answer said nothing limits sends, FREE_FOR ago; one send asking again."""
    store.answer.set()
    shared = SharedRateState(store, "ns", owned=False)
    await shared.admit(None)
    store.answer.clear()
    clock.now += FREE_FOR
    asking = asyncio.ensure_future(shared.admit(None))
    await asyncio.sleep(0)
    return shared, asking


@pytest.mark.anyio
async def test_while_one_send_asks_the_store_again_the_others_ride_on_its_last_answer(clock: Clock) -> None:
    """Nothing limited sends at the last answer: once FREE_FOR is over one send asks again, and sends meanwhile
    go on without asking (each asking on its own, every send in a slow store's round trip paid it)."""
    store = HeldStore(limits=False)
    shared, asking = await _renewing(store, clock)
    assert len(store.admits) == 2
    for _ in range(5):
        assert await shared.admit(None) is None
    assert len(store.admits) == 2
    store.answer.set()
    assert await asking is None
    clock.now += FREE_FOR
    await shared.admit(None)  # the next one asks again
    assert len(store.admits) == 3
    await shared.aclose()


@pytest.mark.anyio
async def test_past_one_more_free_for_the_others_wait_for_the_answer(clock: Clock) -> None:
    """Riding on an old answer is bounded: a FREE_FOR after it ran out, sends wait for the new one, and if it
    says a window or gate applies they ask for themselves (another process's 429 seen at most 2 FREE_FOR late)."""
    store = HeldStore(limits=False)
    shared, asking = await _renewing(store, clock)
    clock.now += FREE_FOR - 0.001
    assert await shared.admit(None) is None and len(store.admits) == 2  # still within one more FREE_FOR
    clock.now += 0.001
    waiting = asyncio.ensure_future(shared.admit(None))
    await asyncio.sleep(0)
    assert not waiting.done() and len(store.admits) == 2
    store.limits = True  # the answer: a window applies now
    store.answer.set()
    await asking
    assert await waiting is None
    assert len(store.admits) == 3  # the waiting send asked for itself
    await shared.admit(None)
    assert len(store.admits) == 4
    await shared.aclose()


@pytest.mark.anyio
async def test_a_cancelled_renewal_lets_the_next_send_ask(clock: Clock) -> None:
    store = HeldStore(limits=False)
    shared, asking = await _renewing(store, clock)
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    clock.now += 2 * FREE_FOR
    nxt = asyncio.ensure_future(shared.admit(None))
    await asyncio.sleep(0)
    assert len(store.admits) == 3  # it asks: nothing is left waiting on an answer that will not come
    store.answer.set()
    assert await nxt is None
    await shared.aclose()


@pytest.mark.anyio
async def test_a_renewal_that_fails_sets_the_store_aside_and_the_waiting_sends_go_by_the_process(
    clock: Clock,
) -> None:
    store = FlakyStore(limits=False)
    shared = SharedRateState(store, "ns", owned=False)
    await shared.admit(None)
    store.broken = "hang"
    clock.now += FREE_FOR
    asking = asyncio.ensure_future(shared.admit(None))
    await asyncio.sleep(0)
    clock.now += FREE_FOR
    waiting = asyncio.ensure_future(shared.admit(None))
    await asyncio.sleep(0)
    assert not waiting.done()
    store.broken = "raise"
    asking.cancel()  # the hanging call gives up (as OP_TIMEOUT would): the waiting send is not stuck
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert await waiting is None
    assert shared.fallbacks == 1  # it asked in turn, the store failed, and it went by the process's limits
    await shared.aclose()


@pytest.mark.anyio
async def test_while_a_window_or_cap_applies_every_send_asks_the_store() -> None:
    store = HeldStore(limits=True)
    shared = SharedRateState(store, "ns", owned=False)
    sends = [asyncio.ensure_future(shared.admit(None)) for _ in range(3)]
    await asyncio.sleep(0)
    assert len(store.admits) == 3  # none rides on another's answer: each needs its own admission
    store.answer.set()
    await asyncio.gather(*sends)
    await shared.aclose()


@pytest.mark.anyio
async def test_a_send_that_waited_its_turn_to_book_books_at_the_rate_of_then() -> None:
    """A cut heard while a send waits its turn to book: it books at the new rate's spacing (at the old one, a
    queue of sends booked behind a cut would run on at the rate that met the 429)."""
    store = FlakyStore()
    shared = SharedRateState(store, "ns", owned=False)
    shared.set_rate(100.0)
    loop = asyncio.get_running_loop()

    async def send() -> None:
        asked = loop.time()
        await asyncio.sleep(asked + await shared.reserve(asked, 0.01) - loop.time())

    async with asyncio.TaskGroup() as tg:
        for _ in range(4):
            tg.create_task(send())
        await asyncio.sleep(0)  # one sent at once, 2 booked ahead, the 4th waits its turn
        assert store.reserves == [0.01] * 3
        shared.set_rate(80.0)  # a cut, heard meanwhile
    assert store.reserves == [0.01] * 3 + [pytest.approx(0.0125)]
    await shared.aclose()


@pytest.mark.anyio
async def test_processes_take_turns_on_the_shared_schedule() -> None:
    """Each process holds at most BOOK_AHEAD slots booked ahead: the schedule serves backlogged ones in turn,
    whatever their own concurrency limits."""
    store = FlakyStore()
    big, small = SharedRateState(store, "ns", owned=False), SharedRateState(store, "ns", owned=False)
    big.set_rate(100.0)
    small.set_rate(100.0)
    loop = asyncio.get_running_loop()
    slots: list[tuple[float, str]] = []

    async def send(name: str, state: SharedRateState) -> None:
        asked = loop.time()
        slot = asked + await state.reserve(asked, 0.01)  # the slot the schedule gave (its delay counts from asked)
        slots.append((slot, name))
        await asyncio.sleep(slot - loop.time())

    async with asyncio.TaskGroup() as tg:
        for _ in range(20):
            tg.create_task(send("big", big))  # 20 tasks want to go at once ...
        await asyncio.sleep(0)  # ... they run up to their first wait (a loop turn, not a real-time gap) ...
        for _ in range(4):
            tg.create_task(send("small", small))  # ... and 4 here come a little later
    assert BOOK_AHEAD == 2
    order = [name for _, name in sorted(slots)]
    # big sent one at once and booked 2 slots ahead, then waits for one to pass; small takes the next 2 slots,
    # and from then on the two take turns, 2 slots each: small is through by the 9th send, not after 20.
    assert order[:9] == ["big"] * 3 + ["small"] * 2 + ["big"] * 2 + ["small"] * 2, order


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


@pytest.mark.anyio
async def test_a_send_cancelled_in_the_loop_turn_its_turn_to_book_came_raises_its_cancellation() -> None:
    """Two slots are booked ahead, so a third send waits its turn to book. Its cancellation and the first slot's
    coming are due in the same loop turn: the slot passes over the cancelled turn, and the send ends with its own
    CancelledError (a deadline's becomes the pacing timeout), not a ValueError from a turn no longer queued."""
    store = FlakyStore(limits=False)
    state = SharedRateState(store, "ns", owned=False)
    state.set_rate(100.0)
    loop = asyncio.get_running_loop()
    store.tat = loop.time() + 1.0  # the two slots booked ahead come in a second
    for _ in range(BOOK_AHEAD):
        await state.reserve(loop.time(), 0.01)
    third = loop.create_task(state.reserve(loop.time(), 0.01))
    await asyncio.sleep(0)
    assert len(state._booking) == 1
    due = loop.time() + 0.01
    loop.call_at(due, third.cancel)
    loop.call_at(due, state._unbook)
    with pytest.raises(asyncio.CancelledError):
        await third
    assert not state._booking and state._booked == BOOK_AHEAD - 1
    await state.aclose()


@pytest.mark.anyio
async def test_a_deadline_and_a_slot_due_in_one_busy_loop_turn_time_the_send_out() -> None:
    """Through the engine: a send with a 5 ms deadline waits its turn to book, and the loop is busy for 20 ms, so
    the deadline and the first booked slot (6 ms) come due together. The send fails with TimeoutError, which the
    core reports as a timeout."""
    store = FlakyStore(limits=False)
    state = SharedRateState(store, "ns", owned=False)
    engine = RateLimitEngine(8, state=state)
    engine.leave(await engine.enter(None))
    loop = asyncio.get_running_loop()
    engine.learn("adopt", loop.time(), 100.0)
    store.tat = loop.time() + 1.0
    for _ in range(BOOK_AHEAD):
        await state.reserve(loop.time(), 0.01)
    send = loop.create_task(engine.enter(loop.time() + 0.005))
    await asyncio.sleep(0)
    assert len(state._booking) == 1
    loop.call_later(0.006, state._unbook)
    time.sleep(0.02)  # noqa: ASYNC251 - the busy loop is the scenario: both are due by its next turn
    with pytest.raises(TimeoutError):
        await send
    assert engine.limiter.in_flight == 0
    await state.aclose()


@pytest.mark.anyio
async def test_leases_given_back_while_the_store_is_set_aside_are_given_back_when_it_answers_again(
    clock: Clock,
) -> None:
    """A send ends while the store is set aside (another send's admit failed): its lease, and the one the failed
    admit may have taken, are not left to hold the shared cap until their TTL, but given back, with no successes,
    once the store answers again; not while it is set aside."""
    store = FlakyStore(leased=True)
    shared = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    lease = await shared.admit(None)
    assert lease == f"{shared._pid}-0"
    store.broken = "raise"
    fault = clock.now
    assert await shared.admit(None) is None  # the store fails this send's admit, and is set aside
    shared.release(lease)
    await asyncio.sleep(0)
    assert store.released == []
    store.broken = None
    clock.now = fault + 0.05
    assert await shared.admit(None) == f"{shared._pid}-2"  # rejoined
    await shared.aclose()  # lets the updates it spawned finish
    assert sorted(store.released) == [(f"{shared._pid}-0", 0), (f"{shared._pid}-1", 0)]


@pytest.mark.anyio
async def test_a_send_cancelled_while_the_store_admits_it_gives_back_the_lease_it_may_hold() -> None:
    """The store took the admit (its script may have taken the lease) and its answer is slow; the send is cancelled
    meanwhile. The lease is given back at once, not left to hold the shared cap until its TTL."""
    store = FlakyStore(leased=True)
    store.broken = "hang"
    shared = SharedRateState(store, "ns", owned=False)
    engine = RateLimitEngine(8, state=shared)
    send = asyncio.get_running_loop().create_task(engine.enter(None))
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(store.admits) == 1  # the store has the call, and hangs
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    await shared.aclose()
    assert store.released == [(f"{shared._pid}-0", 0)]
    assert engine.limiter.in_flight == 0 and shared.active


@pytest.mark.anyio
async def test_leases_kept_while_the_store_was_set_aside_are_given_back_one_call_at_a_time(clock: Clock) -> None:
    """All at once, after a long outage, thousands of them would queue for the store's connections ahead of the
    sends asking it now, and time those out: one call at a time, in the order kept."""

    class Counting(FlakyStore):
        def __init__(self) -> None:
            super().__init__(leased=True)
            self.running = self.most = 0

        async def release(self, namespace: str, lease: str | None, successes: int) -> None:
            self.running += 1
            self.most = max(self.most, self.running)
            await asyncio.sleep(0)
            self.running -= 1
            await super().release(namespace, lease, successes)

    store = Counting()
    shared = SharedRateState(store, "ns", owned=False, retry_interval=0.05)
    leases = [await shared.admit(None) for _ in range(3)]
    store.broken = "raise"
    fault = clock.now
    assert await shared.admit(None) is None
    for lease in leases:
        shared.release(lease)
    store.broken = None
    clock.now = fault + 0.05
    assert await shared.admit(None) is not None
    await shared.aclose()
    assert [lease for lease, _ in store.released] == [f"{shared._pid}-3", *leases]
    assert store.most == 1
