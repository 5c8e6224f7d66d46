"""``RedisRateLimitStore``: the shared rate-limit numbers in Redis, changed only by Lua scripts.

Each state change is one script, loaded once and run by ``EVALSHA`` (redis-py's ``Script``
reloads it after a ``SCRIPT FLUSH`` or a restart), so a read-then-write never interleaves with
another process's. Times are Redis's own clock (``TIME``), so hosts need not agree on theirs.

Keys, all under ``{prefix}:{namespace}:`` (the namespace is a hash of base URL and token, in
braces so a cluster keeps them in one slot), each with a TTL refreshed on every write:

* ``state`` (hash): ``resume_at`` (the gate), ``rate`` (learned sends/s), ``tat`` (GCRA's
  theoretical arrival time), ``stamp`` and ``last_cd`` (for growth and measurement),
  ``first`` and ``total`` (the first estimate);
* ``ok`` (sorted set): successes of the last second, scored by time: the measured rate;
* ``leases`` (sorted set): in-flight leases scored by expiry, when ``max_in_flight`` is set.
  A process killed while holding leases loses them at their expiry, so nobody waits forever.

The rules mirror ``RatePacer``: a new cooldown at least 0.1 s after the previous one sets the
rate to 0.9 x the successes per second since it (over at most 1 s); the first one uses all
successes since the first, capped by a sub-second hint; the rate grows 1-5 %/s while quiet; the
schedule lets ``max(1, rate x 0.05)`` sends through at once.
"""

from __future__ import annotations

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

# Shared prologue: ARGV[1] is "now" for tests (empty: Redis's clock); ARGV[2] the key TTL in ms.
_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ttl = tonumber(ARGV[2])
local function f(x) return string.format('%.6f', x) end
"""

# KEYS: state, leases. ARGV: now, ttl, lease, lease_ttl, cap.
_ADMIT = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'rate', 'tat', 'stamp', 'last_cd')
local resume_at = tonumber(s[1]) or 0
if now < resume_at then
  return {0, f(resume_at - now), s[2]}
end
local cap = tonumber(ARGV[5])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, f(math.max(0.001, math.min(tonumber(first[2]) - now, 0.02))), s[2]}
  end
end
local delay = 0
local rate = tonumber(s[2])
if rate then
  local stamp = tonumber(s[4]) or now
  local quiet = now - (tonumber(s[5]) or now)
  local growth = math.min(0.05, 0.01 * (1 + quiet))
  rate = rate * (1 + growth * math.max(now - stamp, 0))
  local interval = 1 / rate
  local tolerance = (math.max(1, rate * 0.05) - 1) * interval
  local tat = math.max(tonumber(s[3]) or now, now)
  delay = math.max(0, tat - tolerance - now)
  redis.call('HSET', KEYS[1], 'rate', f(rate), 'tat', f(tat + interval), 'stamp', f(now))
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], now + delay + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], math.max(ttl, math.ceil((delay + tonumber(ARGV[4])) * 1000)))
end
return {1, f(delay), rate and f(rate) or false}
"""
)

# KEYS: state, leases, ok. ARGV: now, ttl, lease ('' for none), successes, member prefix.
_RELEASE = (
    _NOW
    + """
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
local n = tonumber(ARGV[4])
if n > 0 then
  if redis.call('HINCRBY', KEYS[1], 'total', n) == n then
    redis.call('HSET', KEYS[1], 'first', f(now))
  end
  if redis.call('HEXISTS', KEYS[1], 'last_cd') == 1 then
    for i = 1, n do redis.call('ZADD', KEYS[3], now, ARGV[5] .. i) end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 1)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
"""
)

# KEYS: state, ok. ARGV: now, ttl, wait.
_RATE_LIMITED = (
    _NOW
    + """
local wait = math.max(tonumber(ARGV[3]), 0)
local s = redis.call('HMGET', KEYS[1], 'resume_at', 'rate', 'tat', 'last_cd', 'first', 'total')
local resume_at = tonumber(s[1]) or 0
local rate = tonumber(s[2])
local till = now + wait
if till <= resume_at then
  return rate and f(rate) or false
end
redis.call('HSET', KEYS[1], 'resume_at', f(till))
if resume_at <= now then
  local last_cd = tonumber(s[4])
  local first = tonumber(s[5])
  local measured = nil
  if first and not last_cd then
    measured = (tonumber(s[6]) or 0) / math.max(now - first, 0.25)
  elseif last_cd then
    local since = math.max(last_cd, now - 1)
    if now - since >= 0.1 then
      measured = redis.call('ZCOUNT', KEYS[2], '(' .. f(since), f(now)) / (now - since)
    end
  end
  if measured and not rate and wait > 0 and wait < 1 then
    measured = math.min(measured, 1 / wait)
  end
  if measured then
    rate = math.max(0.5, 0.9 * measured)
    local tat = math.max(tonumber(s[3]) or now, till)
    redis.call('HSET', KEYS[1], 'rate', f(rate), 'tat', f(tat), 'stamp', f(now), 'last_cd', f(now))
  elseif not last_cd then
    redis.call('HSET', KEYS[1], 'last_cd', f(now))
  end
end
redis.call('PEXPIRE', KEYS[1], math.max(ttl, math.ceil(wait * 1000) + ttl))
return rate and f(rate) or false
"""
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
            redis = aioredis.Redis.from_url(redis, socket_connect_timeout=0.5, socket_timeout=0.5)
        assert not isinstance(redis, str)
        self.redis = redis
        self.max_in_flight = max_in_flight
        self.lease_ttl = float(lease_ttl)
        self._ttl_ms = str(round(max(key_ttl, lease_ttl) * 1000))
        self._prefix = prefix
        self._clock = clock  # tests: a fixed "now" instead of Redis's TIME
        self._admit = self.redis.register_script(_ADMIT)
        self._release = self.redis.register_script(_RELEASE)
        self._rate_limited = self.redis.register_script(_RATE_LIMITED)

    def keys(self, namespace: str) -> tuple[str, str, str]:
        """The state, leases and successes keys of a namespace."""
        base = f"{self._prefix}:{{{namespace}}}:"
        return base + "state", base + "leases", base + "ok"

    def _now(self) -> str:
        return "" if self._clock is None else f"{self._clock():.6f}"

    async def admit(self, namespace: str, lease: str) -> Admission:
        state, leases, _ = self.keys(namespace)
        args = [self._now(), self._ttl_ms, lease, str(self.lease_ttl), str(self.max_in_flight or 0)]
        admitted, wait, rate = await self._admit(keys=[state, leases], args=args)
        return Admission(admitted == 1, float(wait), _rate(rate))

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        args = [self._now(), self._ttl_ms, lease or "", str(successes), (lease or secrets.token_hex(6)) + ":"]
        await self._release(keys=list(self.keys(namespace)), args=args)

    async def rate_limited(self, namespace: str, wait: float) -> float | None:
        state, _, ok = self.keys(namespace)
        return _rate(await self._rate_limited(keys=[state, ok], args=[self._now(), self._ttl_ms, f"{wait:.6f}"]))

    async def aclose(self) -> None:
        await self.redis.aclose()


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)
