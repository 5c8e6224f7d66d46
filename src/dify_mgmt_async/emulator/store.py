"""The emulator's in-memory state: resources, tokens, rate limits and counters.

Framework-free and clock-driven, so it can be tested without HTTP. Every mutation happens under
one ``threading.Lock`` (never held across an ``await``), so a test thread may read counters while
the server's event loop serves requests.
"""

from __future__ import annotations

import math
import random
import reprlib
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .limiters import FIELD_STYLES, HINT_STYLES, LIMITERS, Limiter, allowance_headers, hint_headers, make_limiter

__all__ = [
    "INDEXING_STAGES",
    "ApiError",
    "EmulatorConfig",
    "SettingError",
    "Store",
]

INDEXING_STAGES = ("waiting", "parsing", "cleaning", "splitting", "indexing")
UPLOAD_EXTENSIONS = frozenset(
    {"txt", "md", "markdown", "mdx", "pdf", "html", "htm", "csv", "docx", "xlsx", "json"},
)


class ApiError(Exception):
    """An error answer: ``status`` with the body ``{error_code, error}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_param", message)


class SettingError(ApiError, ValueError):
    """A refused emulator setting: a ``ValueError`` in Python, a 400 ``invalid_param`` through ``/_emulator/config``."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "invalid_param", message)


def _shown(value: Any) -> str:
    """``reprlib.repr(value)``; an int too long to print in decimal (past ``sys.get_int_max_str_digits()``) by size."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"an integer of {int(value).bit_length()} bits"


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


@dataclass
class EmulatorConfig:
    """Run-time settings; the fault and rate settings can change while the server runs."""

    token: str = ""
    control_secret: str = ""
    rate: float = 0.0
    """Requests per second per token; 0 turns rate limiting off."""
    burst: int = 10
    limiter: str = "token-bucket"
    """One of ``limiters.LIMITERS``."""
    retry_after: str = "ms"
    """How a 429 says when to retry: one of ``limiters.HINT_STYLES``."""
    rate_limit_headers: str = "none"
    """Rate-limit fields on every answer to a request that reached the limiter (``rate`` over 0), 429s included:
    one of ``limiters.FIELD_STYLES``."""
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    drop_rate: float = 0.0
    indexing_seconds: float = 2.0
    indexing_fail_rate: float = 0.0
    max_upload_mb: float = 15.0
    seed: int | None = None

    MUTABLE = (
        "rate",
        "burst",
        "limiter",
        "retry_after",
        "rate_limit_headers",
        "fail_rate",
        "latency_ms",
        "drop_rate",
        "indexing_seconds",
        "indexing_fail_rate",
        "max_upload_mb",
    )

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "limiter": tuple(LIMITERS),
        "retry_after": HINT_STYLES,
        "rate_limit_headers": FIELD_STYLES,
    }

    AT_START = ("token", "control_secret", "seed")
    """Settings only a new emulator takes (``EmulatorServer(token=...)``), not ``configure()``."""

    def __post_init__(self) -> None:  # ``EmulatorConfig(limiter=...)`` is checked as ``configure()`` is
        self.update({name: getattr(self, name) for name in self.MUTABLE + self.AT_START}, at_start=True)

    def public(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.MUTABLE}

    def update(self, changes: dict[str, Any], *, at_start: bool = False) -> None:
        """Check every change, then apply them all (or none): the one rule for ``configure()``,
        ``POST /_emulator/config``, ``EmulatorServer(**settings)`` and the pytest marker.

        ``at_start`` also accepts ``AT_START`` (a server not started yet). A refused change raises
        ``SettingError`` (a ``ValueError``; through HTTP a 400 ``invalid_param``) naming the setting,
        the value given and what is allowed.
        """
        allowed = self.MUTABLE + self.AT_START if at_start else self.MUTABLE
        checked: dict[str, Any] = {}  # each value as it is stored: converted here, so a conversion cannot fail later
        for name, value in changes.items():
            if name not in allowed:
                where = "only when the emulator starts; " if name in self.AT_START else ""
                raise SettingError(f"{name}: unknown setting ({where}settable: {', '.join(allowed)})")
            if name in self.AT_START:
                if name == "seed":
                    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                        raise SettingError(f"seed: must be an integer or None (got {reprlib.repr(value)})")
                elif not isinstance(value, str):  # a token: its type, never its value
                    raise SettingError(f"{name}: must be a string (got {type(value).__name__})")
                checked[name] = value
                continue
            choices = self.CHOICES.get(name)
            if choices is not None:
                if value not in choices:
                    raise SettingError(f"{name}: must be one of {', '.join(choices)} (got {reprlib.repr(value)})")
                checked[name] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise SettingError(f"{name}: must be a number >= 0 (got {reprlib.repr(value)})")
            try:
                number = float(value)  # an int past a float's range (10**400) overflows
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise SettingError(f"{name}: must be a finite number (got {_shown(value)})")
            if name.endswith("_rate") and name != "rate" and number > 1:
                raise SettingError(f"{name}: must be between 0 and 1 (got {reprlib.repr(value)})")
            checked[name] = int(value) if name == "burst" else number
        for name, value in checked.items():
            setattr(self, name, value)


@dataclass
class ApiKey:
    id: str
    name: str
    token: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "token_first_8": self.token[:8],
            "last_used_at": self.last_used_at,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


@dataclass
class App:
    id: str
    name: str
    mode: str
    icon: str | None
    icon_background: str | None
    description: str | None
    created_at: int
    api_key: str
    api_secret: str
    keys_created_at: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mode": self.mode,
            "icon": self.icon,
            "icon_background": self.icon_background,
            "description": self.description,
            "created_at": self.created_at,
        }


@dataclass
class Document:
    id: str
    dataset_id: str
    name: str
    created_at: int
    started: float
    """``time.monotonic()`` at upload; the indexing stage follows from the time since."""
    indexing_seconds: float
    fails: bool
    words: int
    size: int
    sha256: str
    process_rule: dict[str, Any]

    def indexing_status(self, now: float) -> str:
        elapsed = now - self.started
        total = self.indexing_seconds
        # A failing document dies while parsing, after two fifths of the indexing time.
        end = total * 2 / 5 if self.fails else total
        if elapsed >= end:
            return "error" if self.fails else "completed"
        return INDEXING_STAGES[min(len(INDEXING_STAGES) - 1, int(elapsed / total * len(INDEXING_STAGES)))]

    def public(self, now: float) -> dict[str, Any]:
        status = self.indexing_status(now)
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "status": "enabled",
            "indexing_status": status,
            "word_count": self.words if status == "completed" else 0,
            "parsing_error": "Injected failure: the file could not be parsed" if status == "error" else None,
        }


@dataclass
class Dataset:
    id: str
    name: str
    description: str | None
    permission: str
    created_at: int
    updated_at: int
    documents: dict[str, Document] = field(default_factory=dict)

    def public(self, now: float) -> dict[str, Any]:
        words = sum(d.words for d in self.documents.values() if d.indexing_status(now) == "completed")
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "permission": self.permission,
            "document_count": len(self.documents),
            "word_count": words,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


MODELS: list[dict[str, Any]] = [
    {
        "id": "gpt-4o",
        "name": "GPT-4o",
        "model_type": "llm",
        "provider": "openai",
        "features": ["vision", "tool-call"],
        "parameter_rules": {"temperature": {"min": 0, "max": 2, "default": 1}},
        "pricing": {"input": "2.5", "output": "10", "unit": "0.000001", "currency": "USD"},
    },
    {
        "id": "text-embedding-3-small",
        "name": "text-embedding-3-small",
        "model_type": "text-embedding",
        "provider": "openai",
        "features": [],
        "parameter_rules": {},
        "pricing": {"input": "0.02", "unit": "0.000001", "currency": "USD"},
    },
    {
        "id": "claude-sonnet",
        "name": "Claude Sonnet",
        "model_type": "llm",
        "provider": "anthropic",
        "features": ["vision", "tool-call"],
        "parameter_rules": {"temperature": {"min": 0, "max": 1, "default": 1}},
        "pricing": {"input": "3", "output": "15", "unit": "0.000001", "currency": "USD"},
    },
]

PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {"provider_name": "OpenAI", "supported_model_types": ["llm", "text-embedding"]},
    "anthropic": {"provider_name": "Anthropic", "supported_model_types": ["llm"]},
}


class Store:
    """Everything the emulator knows. Methods raise ``ApiError`` for error answers."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.random = random.Random(config.seed)
        now = self.now()
        self.keys: dict[str, ApiKey] = {}
        self.by_token: dict[str, ApiKey] = {}
        self.apps: dict[str, App] = {}
        self.datasets: dict[str, Dataset] = {}
        self.credentials: dict[str, dict[str, Any]] = {}
        self.limiters: dict[str, tuple[tuple[str, float, int], Limiter]] = {}
        self.workspace: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": "Emulated workspace",
            "created_at": now,
            "plan": "team",
            "features": {"sso": False, "audit_log": True},
            "plan_settings": {},
        }
        self.user: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": "Emulator Owner",
            "email": "owner@example.com",
            "avatar": None,
            "created_at": now,
            "role": "owner",
        }
        # Counters, read through the control API.
        self.requests: Counter[str] = Counter()
        self.creates: Counter[str] = Counter()
        self.rate_limited = 0
        self.faults: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        if not config.token:
            config.token = "dify-pat-" + secrets.token_urlsafe(24)
        self.bootstrap = self._add_key("bootstrap", config.token, None)

    @staticmethod
    def now() -> int:
        return int(time.time())

    # -- tokens -------------------------------------------------------------------------------------------------------

    def _add_key(self, name: str, token: str, expires_at: int | None) -> ApiKey:
        key = ApiKey(str(uuid.uuid4()), name, token, self.now(), expires_at)
        self.keys[key.id] = key
        self.by_token[token] = key
        return key

    def authenticate(self, authorization: str | None) -> ApiKey:
        challenge = {"WWW-Authenticate": "Bearer"}
        if not authorization:
            raise ApiError(401, "unauthorized", "Authorization header is missing", challenge)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise ApiError(401, "unauthorized", "Authorization header must be 'Bearer <token>'", challenge)
        with self.lock:
            key = self.by_token.get(token)
            now = self.now()
            if key is None or (key.expires_at is not None and key.expires_at <= now):
                raise ApiError(401, "unauthorized", "Invalid or expired token", challenge)
            key.last_used_at = now
            return key

    def take(self, token: str) -> dict[str, str]:
        """Let one request of ``token`` through its limiter, or raise 429 with the configured hint headers; return
        the rate-limit fields to advertise on its answer (``rate_limit_headers``; none by default)."""
        config = self.config
        if config.rate <= 0:
            return {}
        setting = (config.limiter, config.rate, config.burst)
        with self.lock:
            mono = time.monotonic()
            held = self.limiters.get(token)
            if held is None or held[0] != setting:  # new token, or the settings changed: start afresh
                held = self.limiters[token] = (setting, make_limiter(config.limiter, config.rate, config.burst, mono))
            wait = held[1].take(mono)
            fields = allowance_headers(held[1], mono, config.rate, config.burst, config.rate_limit_headers)
            if wait is None:
                return fields
            self.rate_limited += 1
        raise ApiError(429, "rate_limited", "Too many requests", {**hint_headers(wait, config.retry_after), **fields})

    def list_keys(self) -> list[dict[str, Any]]:
        with self.lock:
            return [k.public() for k in reversed(self.keys.values())]

    def create_key(self, body: dict[str, Any]) -> dict[str, Any]:
        token = "dify-pat-" + secrets.token_urlsafe(24)
        with self.lock:
            expires_at = body.get("expires_at")  # any number in a request; whole seconds in answers
            key = self._add_key(body["name"], token, None if expires_at is None else math.ceil(expires_at))
            self.creates["api_keys"] += 1
        return {
            "id": key.id,
            "name": key.name,
            "token": key.token,
            "created_at": key.created_at,
            "expires_at": key.expires_at,
        }

    def delete_key(self, key_id: str) -> None:
        with self.lock:
            key = self.keys.pop(key_id, None)
            if key is None:
                raise not_found("API key")
            self.by_token.pop(key.token, None)
            self.limiters.pop(key.token, None)

    # -- apps ---------------------------------------------------------------------------------------------------------

    def _app(self, app_id: str) -> App:
        app = self.apps.get(app_id)
        if app is None:
            raise not_found("App")
        return app

    def _unique(self, items: dict[str, Any], name: str, kind: str, exclude: str | None = None) -> None:
        if any(item.name == name and item.id != exclude for item in items.values()):
            raise ApiError(409, "conflict", f"name: a {kind} named {name!r} already exists")

    def list_apps(self, name: str | None, mode: str | None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                a.public()
                for a in reversed(self.apps.values())
                if (name is None or name in a.name) and (mode is None or a.mode == mode)
            ]

    def create_app(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._unique(self.apps, body["name"], "app")
            now = self.now()
            app = App(
                id=str(uuid.uuid4()),
                name=body["name"],
                mode=body["mode"],
                icon=body.get("icon"),
                icon_background=body.get("icon_background"),
                description=body.get("description"),
                created_at=now,
                api_key="app-" + secrets.token_urlsafe(18),
                api_secret="sk-" + secrets.token_urlsafe(24),
                keys_created_at=now,
            )
            self.apps[app.id] = app
            self.creates["apps"] += 1
            return {**app.public(), "api_key": app.api_key, "api_secret": app.api_secret}

    def get_app(self, app_id: str) -> dict[str, Any]:
        with self.lock:
            return self._app(app_id).public()

    def update_app(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            app = self._app(app_id)
            if "name" in body:
                self._unique(self.apps, body["name"], "app", exclude=app_id)
            for name, value in body.items():
                setattr(app, name, value)
            return app.public()

    def delete_app(self, app_id: str) -> None:
        with self.lock:
            self._app(app_id)
            del self.apps[app_id]

    def app_keys(self, app_id: str) -> dict[str, Any]:
        with self.lock:
            app = self._app(app_id)
            return {"api_key": app.api_key, "api_secret": app.api_secret, "created_at": app.keys_created_at}

    def reset_app_key(self, app_id: str, kind: str) -> dict[str, Any]:
        with self.lock:
            app = self._app(app_id)
            app.keys_created_at = self.now()
            if kind == "api_key":
                app.api_key = "app-" + secrets.token_urlsafe(18)
                return {"api_key": app.api_key}  # the contract: the new key only
            app.api_secret = "sk-" + secrets.token_urlsafe(24)
            return {"api_secret": app.api_secret}

    # -- datasets and documents ---------------------------------------------------------------------------------------

    def _dataset(self, dataset_id: str) -> Dataset:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            raise not_found("Dataset")
        return dataset

    def list_datasets(self, name: str | None) -> list[dict[str, Any]]:
        mono = time.monotonic()
        with self.lock:
            return [d.public(mono) for d in reversed(self.datasets.values()) if name is None or name in d.name]

    def create_dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._unique(self.datasets, body["name"], "dataset")
            now = self.now()
            dataset = Dataset(
                id=str(uuid.uuid4()),
                name=body["name"],
                description=body.get("description"),
                permission=body.get("permission", "only_me"),
                created_at=now,
                updated_at=now,
            )
            self.datasets[dataset.id] = dataset
            self.creates["datasets"] += 1
            return dataset.public(time.monotonic())

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        with self.lock:
            return self._dataset(dataset_id).public(time.monotonic())

    def update_dataset(self, dataset_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            dataset = self._dataset(dataset_id)
            if "name" in body:
                self._unique(self.datasets, body["name"], "dataset", exclude=dataset_id)
            for name, value in body.items():
                setattr(dataset, name, value)
            dataset.updated_at = self.now()
            return dataset.public(time.monotonic())

    def delete_dataset(self, dataset_id: str) -> None:
        with self.lock:
            self._dataset(dataset_id)
            del self.datasets[dataset_id]

    def check_dataset(self, dataset_id: str) -> None:
        with self.lock:
            self._dataset(dataset_id)

    def add_document(
        self,
        dataset_id: str,
        name: str,
        *,
        size: int,
        sha256: str,
        words: int,
        process_rule: dict[str, Any],
    ) -> dict[str, Any]:
        with self.lock:
            dataset = self._dataset(dataset_id)
            fails = self.random.random() < self.config.indexing_fail_rate
            doc = Document(
                id=str(uuid.uuid4()),
                dataset_id=dataset_id,
                name=name,
                created_at=self.now(),
                started=time.monotonic(),
                indexing_seconds=self.config.indexing_seconds,
                fails=fails,
                words=words,
                size=size,
                sha256=sha256,
                process_rule=process_rule,
            )
            dataset.documents[doc.id] = doc
            dataset.updated_at = doc.created_at
            self.creates["documents"] += 1
            answer = doc.public(doc.started)
            if answer["indexing_status"] != "waiting":  # indexing_seconds == 0: the answer still says it was queued
                answer.update(indexing_status="waiting", word_count=0, parsing_error=None)
            return answer

    def list_documents(self, dataset_id: str, status: str | None) -> list[dict[str, Any]]:
        mono = time.monotonic()
        with self.lock:
            docs = [d.public(mono) for d in reversed(self._dataset(dataset_id).documents.values())]
        return [d for d in docs if status is None or status in (d["status"], d["indexing_status"])]

    def delete_document(self, dataset_id: str, document_id: str) -> None:
        with self.lock:
            dataset = self._dataset(dataset_id)
            if dataset.documents.pop(document_id, None) is None:
                raise not_found("Document")

    def uploads(self) -> list[dict[str, Any]]:
        """Every stored document's size and sha256, oldest first."""
        with self.lock:
            return [
                {
                    "id": d.id,
                    "dataset_id": d.dataset_id,
                    "name": d.name,
                    "size": d.size,
                    "sha256": d.sha256,
                    "word_count": d.words,
                    "process_rule": d.process_rule,
                }
                for ds in self.datasets.values()
                for d in ds.documents.values()
            ]

    # -- models, providers, workspace, user ---------------------------------------------------------------------------

    def providers(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"provider": name, **info, "is_configured": name in self.credentials}
                for name, info in PROVIDERS.items()
            ]

    def set_credentials(self, provider: str, credentials: dict[str, Any]) -> None:
        with self.lock:
            if provider not in PROVIDERS:
                raise not_found("Model provider")
            self.credentials[provider] = credentials

    def get_workspace(self) -> dict[str, Any]:
        with self.lock:
            ws = {k: v for k, v in self.workspace.items() if k != "plan_settings"}
            ws["usage"] = {
                "apps": len(self.apps),
                "datasets": len(self.datasets),
                "members": 1,
                "api_keys": len(self.keys),
            }
            return ws

    def update_workspace(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if "name" in body:
                self.workspace["name"] = body["name"]
            if "plan_settings" in body:
                self.workspace["plan_settings"] = body["plan_settings"]
        return self.get_workspace()

    # -- counters -----------------------------------------------------------------------------------------------------

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def count(self, route: str) -> None:
        with self.lock:
            self.requests[route] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "requests_total": sum(self.requests.values()),
                "creates": dict(self.creates),
                "rate_limited": self.rate_limited,
                "faults": dict(self.faults),
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "counts": {"apps": len(self.apps), "datasets": len(self.datasets), "api_keys": len(self.keys)},
            }

    def clear(self) -> None:
        """Forget every app, dataset, credential and API key but the bootstrap token's (restored if deleted)."""
        with self.lock:
            self.apps.clear()
            self.datasets.clear()
            self.credentials.clear()
            bootstrap = self.bootstrap  # back even if it was deleted
            self.keys = {bootstrap.id: bootstrap}
            self.by_token = {bootstrap.token: bootstrap}
            self.workspace.update(name="Emulated workspace", plan_settings={})

    def reset_counters(self) -> None:
        with self.lock:
            self.requests.clear()
            self.creates.clear()
            self.faults.clear()
            self.rate_limited = 0
            self.peak_in_flight = self.in_flight
