"""The Redis rate-limit store, for options beyond a URL (needs the ``[redis]`` extra)::

    from dify_mgmt_async.redis_store import RedisRateLimitStore

    store = RedisRateLimitStore("redis://127.0.0.1:6379/0", max_in_flight=32, lease_ttl=60)
    async with DifyManagementClient(base_url, token, rate_limit_store=store) as dify: ...
    await store.aclose()

A separate module so that ``import dify_mgmt_async`` never imports redis-py.
"""

from ._redis_store import RedisRateLimitStore

__all__ = ["RedisRateLimitStore"]
