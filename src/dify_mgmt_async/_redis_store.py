"""``RedisRateLimitStore``: the shared rate-limit numbers in Redis, changed only by Lua scripts.

Each state change is one script, loaded once and run by ``EVALSHA`` (redis-py's ``Script``
reloads it after a ``SCRIPT FLUSH`` or a restart), so a read-then-write never interleaves with
another process's. Times are Redis's own clock (``TIME``), so hosts need not agree on theirs;
every answer carries that clock's ``now`` so a client can place times on its own clock.

The store keeps numbers, never policy: the engine (``_ratelimit.py``) decides what to write, the same
way with or without a store. Keys, all under ``{prefix}:{namespace}:`` (the namespace is a hash of
base URL and token, in braces so a cluster keeps them in one slot), each with a TTL refreshed on
every write:

* ``state`` (hash): ``resume_at`` (the gate), ``tat`` (GCRA's theoretical arrival time), ``rate``
  (the pacing rate last reported, for newcomers and after a fault), ``ok`` (successes of every
  process), ``first`` (when the first of them was reported), ``seq`` (events so far), ``limited``
  (set by the first 429: slow start is over);
* ``events`` (list, newest first, the last ``MAX_EVENTS``): ``seq|time|kind|value``: a 429 (value: ``ok``
  then), a rate a server advertised, ``tried`` just before a 429 (the pacing rate of the process that met
  it), or (just before the first 429) ``start``, when the first success was reported (``first`` in
  ``state``). Every process replays them into its own estimator, so one process's 429 teaches every
  process once, from the same rate;
* ``leases`` (sorted set): in-flight leases scored by expiry, during slow start and when
  ``max_in_flight`` is set. A process killed while holding leases loses them at their expiry;
* ``procs`` (sorted set): processes that asked in the last 2 s, so one that loses the store can
  fall back to its share of the rate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._errors import ConfigurationError
from ._ratelimit import AdaptiveLimiter
from ._store import Admission, Reply

try:
    import redis.asyncio as aioredis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ConfigurationError(
        "rate_limit_store: the Redis store needs redis-py; install dify-mgmt-async[redis]"
    ) from exc

__all__ = ["RedisRateLimitStore"]

# Shared prologue. KEYS: state, leases, procs, events, holes. ARGV[1]: "now" for tests (empty: Redis's clock);
# ARGV[2]: key TTL, ms.
_PROLOGUE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ttl = tonumber(ARGV[2])
local function f(x) return string.format('%.6f', x) end
local function drop_due_holes()  -- slots given back whose time has come can go back no more
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
end
local function touch(extra)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], math.max(ttl, extra or 0)) end
end
local function record(n)
  if n > 0 then
    redis.call('HINCRBY', KEYS[1], 'ok', n)
    redis.call('HSETNX', KEYS[1], 'first', f(now))
  end
end
local function common(pid, seen)
  local processes = 0
  if pid ~= '' then
    redis.call('ZADD', KEYS[3], now, pid)
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - PRESENCE)
    processes = redis.call('ZCARD', KEYS[3])
  end
  local s = redis.call('HMGET', KEYS[1], 'resume_at', 'rate', 'seq')
  local head = tonumber(s[3]) or 0
  if seen > head then seen = 0 end  -- the store lost its state (a restart): all it has is new
  local events = {}
  if head > seen then events = redis.call('LRANGE', KEYS[4], 0, math.min(head - seen, MAX_EVENTS) - 1) end
  return {f(now), f(tonumber(s[1]) or 0), s[2] or '', head, processes, events}
end
"""

# ARGV: now, ttl, lease, lease_ttl, cap (0: none), successes, pid, seen.
_ADMIT = (
    _PROLOGUE
    + """
record(tonumber(ARGV[6]))
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'limited', 'ok')
local resume_at = tonumber(s[1]) or 0
local answer = {1, f(0), 0, 0}
if now < resume_at then
  answer = {0, f(resume_at - now), 0, 1}
else
  local cap = tonumber(ARGV[5])
  if not s[2] then
    -- Slow start over every process: INITIAL_WINDOW in flight, WINDOW_STEP more per success, until the first 429.
    local window = INITIAL_WINDOW + math.floor(WINDOW_STEP * (tonumber(s[3]) or 0))
    if window < MAX_WINDOW and (cap == 0 or window < cap) then cap = window end
  end
  if cap > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= cap then
      answer = {0, f(POLL), 0, 1}
    else
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
      answer = {1, f(0), 1, 1}
    end
  end
end
touch(math.ceil(tonumber(ARGV[4]) * 1000))
answer[5] = common(ARGV[7], tonumber(ARGV[8]))
return answer
"""
)

# ARGV: now, ttl, interval, successes, pid, seen, the pacing rate ('' none).
_RESERVE = (
    _PROLOGUE
    + """
record(tonumber(ARGV[4]))
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'tat')
local at = math.max(tonumber(s[2]) or now, now, tonumber(s[1]) or 0)
redis.call('HSET', KEYS[1], 'tat', f(at + tonumber(ARGV[3])))
drop_due_holes()
-- a hole at or past this slot is a stray (left by a store that lost its state, or by a process of a version
-- that moved the schedule back regardless): it would hand this slot out twice
redis.call('ZREMRANGEBYSCORE', KEYS[5], f(at - SAME_TIME), '+inf')
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'rate', ARGV[7]) end
touch(math.ceil((at - now) * 1000))
return {f(at - now), common(ARGV[5], tonumber(ARGV[6]))}
"""
)

# ARGV: now, ttl, interval, slot. As ``RateState.unreserve``: the schedule moves back only over slots given back
# at its end; one given back with a later one still booked is kept as a hole (in KEYS[5], by its time) until
# that one comes back too, never handed out twice.
_UNRESERVE = (
    _PROLOGUE
    + """
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat'))
-- a slot ending past the schedule's end is not in it (the store lost its state since it was booked)
if not tat or tonumber(ARGV[4]) + tonumber(ARGV[3]) > tat + SAME_TIME then return 0 end
drop_due_holes()
redis.call('ZADD', KEYS[5], tonumber(ARGV[4]), ARGV[4] .. '|' .. ARGV[3])
while true do
  local last = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')
  if #last == 0 then break end
  local start = tonumber(last[2])
  if math.abs(tat - (start + tonumber(string.match(last[1], '|(.+)$')))) > SAME_TIME then break end
  tat = start
  redis.call('ZREM', KEYS[5], last[1])
end
redis.call('HSET', KEYS[1], 'tat', f(tat))
touch()
return 1
"""
)

# ARGV: now, ttl, seconds.
_CLOSE = (
    _PROLOGUE
    + """
local till = now + math.max(tonumber(ARGV[3]), 0)
if till > (tonumber(redis.call('HGET', KEYS[1], 'resume_at')) or 0) then
  redis.call('HSET', KEYS[1], 'resume_at', f(till))
end
touch(math.ceil(tonumber(ARGV[3]) * 1000))
return 1
"""
)

# ARGV: now, ttl, kind ('429' or 'adopt'), value (adopt: the rate; 429: the rate that met it, or ''), successes,
# pid, seen.
_EVENT = (
    _PROLOGUE
    + """
record(tonumber(ARGV[5]))
local value = ARGV[4]
if ARGV[3] == '429' then
  local s = redis.call('HMGET', KEYS[1], 'ok', 'limited', 'first')
  value = s[1] or '0'
  if not s[2] and s[3] then
    -- The first 429: first log when the first success was reported, so every process's first estimate
    -- spans every process's successes, not only the time since its own first one.
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('LPUSH', KEYS[4], seq .. '|' .. s[3] .. '|start|0')
  end
  if ARGV[4] ~= '' then
    -- The rate that met it, so that every process cuts from the same rate (their growth is their own).
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('LPUSH', KEYS[4], seq .. '|' .. f(now) .. '|tried|' .. ARGV[4])
  end
  redis.call('HSET', KEYS[1], 'limited', '1')
else
  redis.call('HSET', KEYS[1], 'rate', value)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('LPUSH', KEYS[4], seq .. '|' .. f(now) .. '|' .. ARGV[3] .. '|' .. value)
redis.call('LTRIM', KEYS[4], 0, MAX_EVENTS - 1)
touch()
return common(ARGV[6], tonumber(ARGV[7]))
"""
)

# ARGV: now, ttl, lease ('' for none), successes.
_RELEASE = (
    _PROLOGUE
    + """
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
record(tonumber(ARGV[4]))
touch()
return 1
"""
)

# The store's constants, written into the scripts (one place for each number).
_CONSTANTS = {
    # slow start across all processes until the first 429, as in one process: this many in flight at first ...
    "INITIAL_WINDOW": int(AdaptiveLimiter.INITIAL),
    "WINDOW_STEP": AdaptiveLimiter.SLOW_START_STEP,  # ... and this many more per success
    "MAX_WINDOW": 64,  # ... and not past this: a server that let 64 through at once needs no window
    "POLL": 0.01,  # seconds before asking again when the window or the cap is full
    "PRESENCE": 2.0,  # seconds a process counts as present after its last ask
    "MAX_EVENTS": 64,  # events kept: a process that missed more adopts the reported rate instead
    # a given-back slot's end and the schedule's, equal but for the 6 decimals times are stored with
    "SAME_TIME": 5e-6,
}


MAX_CONNECTIONS = 16
"""Connections a store opened from a URL keeps to Redis. Redis runs one script at a time: more connections
would only move the queue from here to there."""


def _script(text: str) -> str:
    return re.sub(
        r"\b[A-Z][A-Z_]+\b", lambda m: repr(_CONSTANTS[m.group()]) if m.group() in _CONSTANTS else m.group(), text
    )


class RedisRateLimitStore:
    """A ``RateLimitStore`` in Redis: ``RedisRateLimitStore("redis://localhost:6379/0")`` or a ``redis.asyncio.Redis``.

    ``max_in_flight``: a cap on requests in flight across every process of the namespace
    (None: no cap; each client's own ``max_concurrency`` still applies). ``lease_ttl``: seconds
    after which a slot held by a process that died is free again; keep it above the longest
    request. ``key_ttl``: seconds the keys outlive the last write. ``max_connections``: connections
    to Redis when the store opens them from a URL; a call waits for a free one (a ``Redis`` passed in
    keeps its own pool). Runs under asyncio only (redis-py's asyncio client).
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        *,
        max_in_flight: int | None = None,
        lease_ttl: float = 60.0,
        key_ttl: float = 600.0,
        prefix: str = "dify_mgmt_async",
        max_connections: int = MAX_CONNECTIONS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_in_flight is not None and (type(max_in_flight) is not int or max_in_flight < 1):
            raise ConfigurationError(f"max_in_flight: must be an integer >= 1 or None (got {max_in_flight!r})")
        if type(max_connections) is not int or max_connections < 1:
            raise ConfigurationError(f"max_connections: must be an integer >= 1 (got {max_connections!r})")
        for name, value in (("lease_ttl", lease_ttl), ("key_ttl", key_ttl)):
            if type(value) not in (int, float) or not value > 0:
                raise ConfigurationError(f"{name}: must be a positive number of seconds (got {value!r})")
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    f"rate_limit_store: expected a redis://, rediss:// or unix:// URL (got {redis.split('@')[-1]!r})"
                )
            # A bounded pool that makes a call wait for a connection. redis-py's default pool opens one per
            # concurrent call (8.x raises "Too many connections" past 100), and 5.3-7.1 connect while holding
            # the pool's lock, which a busy event loop turns into a queue of calls one loop turn apart (redis-py
            # issue 3692): a client starting 3,000 sends timed out its first store calls either way.
            pool = aioredis.BlockingConnectionPool.from_url(
                redis, max_connections=max_connections, timeout=None, socket_connect_timeout=1.0, socket_timeout=1.0
            )
            redis = aioredis.Redis.from_pool(pool)
        assert not isinstance(redis, str)
        self.redis = redis
        self.max_in_flight = max_in_flight
        self.lease_ttl = float(lease_ttl)
        self._ttl_ms = str(round(max(key_ttl, lease_ttl) * 1000))
        self._prefix = prefix
        self._clock = clock  # tests: a fixed "now" instead of Redis's TIME
        self._admit = self.redis.register_script(_script(_ADMIT))
        self._reserve = self.redis.register_script(_script(_RESERVE))
        self._unreserve = self.redis.register_script(_script(_UNRESERVE))
        self._close = self.redis.register_script(_script(_CLOSE))
        self._event = self.redis.register_script(_script(_EVENT))
        self._release = self.redis.register_script(_script(_RELEASE))

    def keys(self, namespace: str) -> tuple[str, str, str, str, str]:
        """The state, leases, processes, events and holes (slots given back) keys of a namespace."""
        base = f"{self._prefix}:{{{namespace}}}:"
        return base + "state", base + "leases", base + "procs", base + "events", base + "holes"

    def _args(self, *args: object) -> list[str]:
        now = "" if self._clock is None else f"{self._clock():.6f}"
        return [now, self._ttl_ms, *(str(a) for a in args)]

    async def admit(self, namespace: str, lease: str, pid: str, successes: int, seen: int) -> Admission:
        cap = self.max_in_flight or 0
        args = self._args(lease, self.lease_ttl, cap, successes, pid, seen)
        admitted, wait, leased, limits, common = await self._admit(keys=list(self.keys(namespace)), args=args)
        return Admission(admitted == 1, float(wait), leased == 1, limits == 1, _reply(common))

    async def reserve(
        self, namespace: str, interval: float, pid: str, successes: int, seen: int, rate: float | None
    ) -> tuple[float, Reply]:
        args = self._args(f"{interval:.9f}", successes, pid, seen, "" if rate is None else f"{rate:.6f}")
        delay, common = await self._reserve(keys=list(self.keys(namespace)), args=args)
        return float(delay), _reply(common)

    async def unreserve(self, namespace: str, interval: float, slot: float) -> None:
        await self._unreserve(keys=list(self.keys(namespace)), args=self._args(f"{interval:.9f}", f"{slot:.6f}"))

    async def close_for(self, namespace: str, seconds: float) -> None:
        await self._close(keys=list(self.keys(namespace)), args=self._args(f"{seconds:.6f}"))

    async def event(self, namespace: str, kind: str, value: float | None, pid: str, successes: int, seen: int) -> Reply:
        text = "" if value is None else f"{value:.6f}"
        common = await self._event(keys=list(self.keys(namespace)), args=self._args(kind, text, successes, pid, seen))
        return _reply(common)

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        await self._release(keys=list(self.keys(namespace)), args=self._args(lease or "", successes))

    async def aclose(self) -> None:
        await self.redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _reply(common: Any) -> Reply:
    now, resume_at, rate, head, processes, events = common
    parsed = []
    for raw in events:
        seq, at, kind, value = _text(raw).split("|")
        parsed.append((int(seq), float(at), kind, float(value)))
    parsed.reverse()  # the oldest first
    rate_text = _text(rate)
    return Reply(
        now=float(now),
        resume_at=float(resume_at),
        rate=float(rate_text) if rate_text else None,
        head=int(head),
        processes=int(processes),
        events=tuple(parsed),
    )
