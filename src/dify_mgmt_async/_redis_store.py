"""``RedisRateLimitStore``: the shared rate-limit numbers in Redis, changed only by Lua scripts.

Each state change is one script, loaded once and run by ``EVALSHA`` (redis-py's ``Script``
reloads it after a ``SCRIPT FLUSH`` or a restart), so a read-then-write never interleaves with
another process's. Times are Redis's own clock (``TIME``), so hosts need not agree on theirs.

Keys, all under ``{prefix}:{namespace}:`` (the namespace is a hash of base URL and token, in
braces so a cluster keeps them in one slot), each with a TTL refreshed on every write:

* ``state`` (hash): ``resume_at`` (the gate), ``rate`` (learned sends/s), ``tat`` (GCRA's
  theoretical arrival time), ``stamp``, ``last_cd``, ``last_429``, ``measured`` (learning),
  ``first``, ``total`` and ``grown`` (the first estimate and the slow-start window);
* ``ok`` (sorted set): successes of the last second, scored by time;
* ``leases`` (sorted set): in-flight leases scored by expiry, during slow start and when
  ``max_in_flight`` is set. A process killed while holding leases loses them at their expiry;
* ``procs`` (sorted set): processes that asked in the last 2 s, so one that loses the store can
  fall back to its share of the learned rate.

The rules are the engine's, counted over every process: until the first 429 at most
``INITIAL_WINDOW`` requests are in flight across all processes, +1 per success (slow start);
the first 429 sets the rate to what got through so far per second, which then grows fast until
two 429s at least ``MIN_SPAN`` apart, with 429s never ``SATURATED_GAP`` apart between them,
measure the server's rate as the successes between them; a 429 after a quiet spell backs off to
``BACKOFF`` x (never below what got through). While the schedule holds sends back, the rate
grows by ``GROWTH`` x the quiet seconds per second, to find capacity the server gains.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from ._errors import ConfigurationError
from ._store import Admission

try:
    import redis.asyncio as aioredis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ConfigurationError(
        "rate_limit_store: the Redis store needs redis-py; install dify-mgmt-async[redis]"
    ) from exc

__all__ = ["RedisRateLimitStore"]

# Shared prologue. KEYS: state, leases, ok. ARGV[1]: "now" for tests (empty: Redis's clock); ARGV[2]: key TTL, ms.
_PROLOGUE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ttl = tonumber(ARGV[2])
local function f(x) return string.format('%.6f', x) end
local function record(n, member)
  if n <= 0 then return end
  if redis.call('HINCRBY', KEYS[1], 'total', n) == n then redis.call('HSET', KEYS[1], 'first', f(now)) end
  if redis.call('HEXISTS', KEYS[1], 'rate') == 0 then redis.call('HINCRBY', KEYS[1], 'grown', n) end
  for i = 1, n do redis.call('ZADD', KEYS[3], now, member .. i) end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 1)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
"""

# KEYS: state, leases, ok, processes. ARGV: now, ttl, lease, lease_ttl, cap (0: none), successes to record,
# the rate this process knew ('': none), this process's id.
_ADMIT = (
    _PROLOGUE
    + """
record(tonumber(ARGV[6]), ARGV[3] .. ':')
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[4], now, ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - PRESENCE)
redis.call('PEXPIRE', KEYS[4], ttl)
local processes = redis.call('ZCARD', KEYS[4])
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'rate', 'tat', 'stamp', 'last_429', 'measured', 'grown')
local resume_at = tonumber(s[1]) or 0
if now < resume_at then
  return {0, f(resume_at - now), s[2], 0, processes}
end
local rate = tonumber(s[2])
if not rate and ARGV[7] ~= '' then
  -- The state is gone (Redis restarted, keys expired) but this process knew the rate: keep it.
  rate = tonumber(ARGV[7])
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'stamp', f(now), 'measured', '1', 'last_cd', f(now))
end
local cap = tonumber(ARGV[5])
if not rate then
  local window = INITIAL_WINDOW + (tonumber(s[7]) or 0)
  if window < MAX_WINDOW and (cap == 0 or window < cap) then cap = window end
end
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then
    return {0, f(POLL), s[2], 0, processes}
  end
end
local delay = 0
if rate then
  local tat = math.max(tonumber(s[3]) or now, now)
  local interval = 1 / rate
  delay = math.max(0, tat - (math.max(1, rate * BURST_SECONDS) - 1) * interval - now)
  if delay > 0 then
    local dt = math.min(math.max(now - (tonumber(s[4]) or now), 0), 1)
    local growth = START_GROWTH
    if s[6] then growth = math.min(MAX_GROWTH, GROWTH * (now - (tonumber(s[5]) or now))) end
    rate = rate * (1 + growth * dt)
    interval = 1 / rate
  end
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'tat', f(tat + interval), 'stamp', f(now))
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], now + delay + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], math.max(ttl, math.ceil((delay + tonumber(ARGV[4])) * 1000)))
end
return {1, f(delay), rate and f(rate) or false, cap > 0 and 1 or 0, processes}
"""
)

# ARGV: now, ttl, lease ('' for none), successes, member prefix.
_RELEASE = (
    _PROLOGUE
    + """
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
record(tonumber(ARGV[4]), ARGV[5])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""
)

# ARGV: now, ttl, seconds to close the gate for (0: learn only).
_RATE_LIMITED = (
    _PROLOGUE
    + """
local wait = math.max(tonumber(ARGV[3]), 0)
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'rate', 'tat', 'last_cd', 'first', 'total', 'last_429')
local rate = tonumber(s[2])
local last_cd = tonumber(s[4])
local last_429 = tonumber(s[7])
local learned = nil
if not rate then
  -- The first 429: everything let through so far, per second (it may include the server's burst).
  learned = math.max(1, tonumber(s[6]) or 0) / math.max(now - (tonumber(s[5]) or now), FIRST_SPAN)
  if wait > 0 and wait < 1 then learned = math.min(learned, 1 / wait) end  -- an ms hint: the next token
  last_cd = now
elseif not last_429 or now - last_429 > SATURATED_GAP then
  -- A probe reached the top after a quiet spell: back off, never below what got through meanwhile.
  local since = math.max(last_cd or now, now - 1)
  local got = 0
  if now - since >= MIN_SPAN then got = redis.call('ZCOUNT', KEYS[3], '(' .. f(since), f(now)) / (now - since) end
  learned = math.max(BACKOFF * rate, got)
  redis.call('HSET', KEYS[1], 'measured', '1')
  last_cd = now
elseif now - last_cd >= MIN_SPAN then
  -- 429s keep coming: the server is held at its limit, so what got through since the mark is its rate.
  local got = redis.call('ZCOUNT', KEYS[3], '(' .. f(last_cd), f(now))
  if got >= MIN_SUCCESSES then
    learned = got / (now - last_cd)
    redis.call('HSET', KEYS[1], 'measured', '1')
  end
  last_cd = now
end
local tat = tonumber(s[3]) or now
if learned then
  rate = math.max(MIN_RATE, learned)
  tat = math.max(tat, now)
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'stamp', f(now))
end
local till = now + wait
if till > (tonumber(s[1]) or 0) then
  redis.call('HSET', KEYS[1], 'resume_at', f(till))
  tat = math.max(tat, till)
end
redis.call('HSET', KEYS[1], 'tat', f(tat), 'last_cd', f(last_cd or now), 'last_429', f(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(wait * 1000) + ttl)
return rate and f(rate) or false
"""
)

# The engine's constants, written into the scripts (one place for each number).
_CONSTANTS = {
    "INITIAL_WINDOW": 4,  # slow start: requests in flight across all processes until the first 429, +1 per success
    "MAX_WINDOW": 64,  # ... and not past this: a server that let 64 through at once needs no window
    "POLL": 0.01,  # seconds before asking again when the window or the cap is full
    "BURST_SECONDS": 0.05,  # the schedule lets max(1, rate x this) sends through at once
    "START_GROWTH": 3.0,  # per second, until a span between 429s measured the rate
    "GROWTH": 0.02,  # then per second, x seconds since the last 429 ...
    "MAX_GROWTH": 0.5,  # ... up to this
    "FIRST_SPAN": 0.1,
    "MIN_SPAN": 0.25,
    "MIN_SUCCESSES": 5,
    "SATURATED_GAP": 0.6,
    "BACKOFF": 0.9,
    "MIN_RATE": 0.5,
    "PRESENCE": 2.0,  # seconds a process counts as present after its last ask
}


def _script(text: str) -> str:
    return re.sub(
        r"\b[A-Z][A-Z_]+\b", lambda m: repr(_CONSTANTS[m.group()]) if m.group() in _CONSTANTS else m.group(), text
    )


class RedisRateLimitStore:
    """A ``RateLimitStore`` in Redis: ``RedisRateLimitStore("redis://localhost:6379/0")`` or a ``redis.asyncio.Redis``.

    ``max_in_flight``: a cap on requests in flight across every process of the namespace
    (None: no cap; each client's own ``max_concurrency`` still applies). ``lease_ttl``: seconds
    after which a slot held by a process that died is free again; keep it above the longest
    request. ``key_ttl``: seconds the keys outlive the last write.
    Runs under asyncio only (redis-py's asyncio client).
    """

    def __init__(
        self,
        redis: aioredis.Redis | str,
        *,
        max_in_flight: int | None = None,
        lease_ttl: float = 60.0,
        key_ttl: float = 600.0,
        prefix: str = "dify_mgmt_async",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_in_flight is not None and (type(max_in_flight) is not int or max_in_flight < 1):
            raise ConfigurationError(f"max_in_flight: must be an integer >= 1 or None (got {max_in_flight!r})")
        for name, value in (("lease_ttl", lease_ttl), ("key_ttl", key_ttl)):
            if type(value) not in (int, float) or not value > 0:
                raise ConfigurationError(f"{name}: must be a positive number of seconds (got {value!r})")
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    f"rate_limit_store: expected a redis://, rediss:// or unix:// URL (got {redis.split('@')[-1]!r})"
                )
            redis = aioredis.Redis.from_url(redis, socket_connect_timeout=1.0, socket_timeout=1.0)
        assert not isinstance(redis, str)
        self.redis = redis
        self.max_in_flight = max_in_flight
        self.lease_ttl = float(lease_ttl)
        self._ttl_ms = str(round(max(key_ttl, lease_ttl) * 1000))
        self._prefix = prefix
        self._clock = clock  # tests: a fixed "now" instead of Redis's TIME
        self._admit = self.redis.register_script(_script(_ADMIT))
        self._release = self.redis.register_script(_script(_RELEASE))
        self._rate_limited = self.redis.register_script(_script(_RATE_LIMITED))

    def keys(self, namespace: str) -> tuple[str, str, str, str]:
        """The state, leases, successes and processes keys of a namespace."""
        base = f"{self._prefix}:{{{namespace}}}:"
        return base + "state", base + "leases", base + "ok", base + "procs"

    def _now(self) -> str:
        return "" if self._clock is None else f"{self._clock():.6f}"

    async def admit(self, namespace: str, lease: str, successes: int = 0, known_rate: float | None = None) -> Admission:
        args = [self._now(), self._ttl_ms, lease, str(self.lease_ttl), str(self.max_in_flight or 0), str(successes)]
        args += ["" if known_rate is None else f"{known_rate:.6f}", lease.rsplit("-", 1)[0]]
        admitted, wait, rate, leased, processes = await self._admit(keys=list(self.keys(namespace)), args=args)
        return Admission(admitted == 1, float(wait), _rate(rate), leased == 1, int(processes))

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        args = [self._now(), self._ttl_ms, lease or "", str(successes), (lease or secrets.token_hex(6)) + ":"]
        await self._release(keys=list(self.keys(namespace)), args=args)

    async def rate_limited(self, namespace: str, wait: float) -> float | None:
        args = [self._now(), self._ttl_ms, f"{wait:.6f}"]
        return _rate(await self._rate_limited(keys=list(self.keys(namespace)), args=args))

    async def aclose(self) -> None:
        await self.redis.aclose()


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)
