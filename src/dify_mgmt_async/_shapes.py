# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""The JSON shape of every answer the SDK parses into a model, read from the spec.

``_response_check`` checks an answer against its shape before a model is built, so an answer that
does not match the spec becomes ``APIResponseValidationError`` naming the field. ``SHAPES`` are
the shapes, walked to find and name a mismatch (see ``generator/namespaces.py:shape``); ``FAST``
holds a predicate per shape that is True only for answers that match it, so a well-formed answer
is not walked (see ``generator/shape_checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import NoneType
from typing import Any, Final

SHAPES: Final[dict[str, Any]] = {
    "ApiKeyCreated": (
        "obj",
        ("id", "name", "token", "created_at", "expires_at"),
        {"id": ("str",), "name": ("str",), "token": ("str",), "created_at": ("int",), "expires_at": ("null", ("int",))},
    ),
    "ApiKeyPage": (
        "obj",
        ("data", "limit"),
        {
            "total": ("null", ("int",)),
            "page": ("null", ("int",)),
            "limit": ("int",),
            "has_more": ("null", ("bool",)),
            "data": (
                "list",
                (
                    "obj",
                    ("id", "name", "last_used_at", "created_at", "expires_at"),
                    {
                        "id": ("str",),
                        "name": ("str",),
                        "token_first_8": ("str",),
                        "last_used_at": ("null", ("int",)),
                        "created_at": ("int",),
                        "expires_at": ("null", ("int",)),
                    },
                ),
            ),
        },
    ),
    "App": (
        "obj",
        ("id", "name", "mode", "icon", "icon_background", "description", "created_at"),
        {
            "id": ("str",),
            "name": ("str",),
            "mode": ("str",),
            "icon": ("null", ("str",)),
            "icon_background": ("null", ("str",)),
            "description": ("null", ("str",)),
            "api_key": ("str",),
            "api_secret": ("str",),
            "created_at": ("int",),
        },
    ),
    "AppApiKeys": ("obj", ("created_at",), {"api_key": ("str",), "api_secret": ("str",), "created_at": ("int",)}),
    "AppNewApiKey": ("obj", (), {"api_key": ("str",), "api_secret": ("str",)}),
    "AppPage": (
        "obj",
        ("data", "limit"),
        {
            "total": ("null", ("int",)),
            "page": ("null", ("int",)),
            "limit": ("int",),
            "has_more": ("null", ("bool",)),
            "data": (
                "list",
                (
                    "obj",
                    ("id", "name", "mode", "icon", "icon_background", "description", "created_at"),
                    {
                        "id": ("str",),
                        "name": ("str",),
                        "mode": ("str",),
                        "icon": ("null", ("str",)),
                        "icon_background": ("null", ("str",)),
                        "description": ("null", ("str",)),
                        "api_key": ("str",),
                        "api_secret": ("str",),
                        "created_at": ("int",),
                    },
                ),
            ),
        },
    ),
    "Dataset": (
        "obj",
        ("id", "name"),
        {
            "id": ("str",),
            "name": ("str",),
            "description": ("null", ("str",)),
            "permission": ("str",),
            "document_count": ("int",),
            "word_count": ("int",),
            "created_at": ("int",),
            "updated_at": ("int",),
        },
    ),
    "DatasetPage": (
        "obj",
        ("data", "limit"),
        {
            "total": ("null", ("int",)),
            "page": ("null", ("int",)),
            "limit": ("int",),
            "has_more": ("null", ("bool",)),
            "data": (
                "list",
                (
                    "obj",
                    ("id", "name"),
                    {
                        "id": ("str",),
                        "name": ("str",),
                        "description": ("null", ("str",)),
                        "permission": ("str",),
                        "document_count": ("int",),
                        "word_count": ("int",),
                        "created_at": ("int",),
                        "updated_at": ("int",),
                    },
                ),
            ),
        },
    ),
    "Document": (
        "obj",
        ("id", "name", "created_at", "status", "indexing_status", "word_count"),
        {
            "id": ("str",),
            "name": ("str",),
            "created_at": ("int",),
            "status": ("str",),
            "indexing_status": ("str",),
            "word_count": ("int",),
            "parsing_error": ("null", ("str",)),
        },
    ),
    "DocumentPage": (
        "obj",
        ("data", "limit"),
        {
            "total": ("null", ("int",)),
            "page": ("null", ("int",)),
            "limit": ("int",),
            "has_more": ("null", ("bool",)),
            "data": (
                "list",
                (
                    "obj",
                    ("id", "name", "created_at", "status", "indexing_status", "word_count"),
                    {
                        "id": ("str",),
                        "name": ("str",),
                        "created_at": ("int",),
                        "status": ("str",),
                        "indexing_status": ("str",),
                        "word_count": ("int",),
                        "parsing_error": ("null", ("str",)),
                    },
                ),
            ),
        },
    ),
    "ModelList": (
        "obj",
        ("data",),
        {
            "data": (
                "list",
                (
                    "obj",
                    ("id", "name", "model_type", "provider", "features", "parameter_rules", "pricing"),
                    {
                        "id": ("str",),
                        "name": ("str",),
                        "model_type": ("str",),
                        "provider": ("str",),
                        "features": ("list", ("str",)),
                        "parameter_rules": ("obj", (), {}),
                        "pricing": ("obj", (), {}),
                    },
                ),
            )
        },
    ),
    "ModelProviderList": (
        "obj",
        ("data",),
        {
            "data": (
                "list",
                (
                    "obj",
                    ("provider", "provider_name", "is_configured", "supported_model_types"),
                    {
                        "provider": ("str",),
                        "provider_name": ("str",),
                        "is_configured": ("bool",),
                        "supported_model_types": ("list", ("str",)),
                    },
                ),
            )
        },
    ),
    "Result": ("obj", ("result",), {"result": ("str",)}),
    "User": (
        "obj",
        ("id", "name", "email", "avatar", "created_at", "role"),
        {
            "id": ("str",),
            "name": ("str",),
            "email": ("str",),
            "avatar": ("null", ("str",)),
            "created_at": ("int",),
            "role": ("str",),
        },
    ),
    "Workspace": (
        "obj",
        ("id", "name", "created_at", "plan", "features", "usage"),
        {
            "id": ("str",),
            "name": ("str",),
            "created_at": ("int",),
            "plan": ("str",),
            "features": ("obj", (), {}),
            "usage": ("obj", (), {}),
        },
    ),
}


class _Absent:
    """What a predicate reads for an optional field the answer leaves out."""


_ABSENT: Final = _Absent()
_BOOL_OR_NULL_OR_ABSENT: Final = (bool, NoneType, _Absent)
_INT_OR_ABSENT: Final = (int, _Absent)
_INT_OR_NULL: Final = (int, NoneType)
_INT_OR_NULL_OR_ABSENT: Final = (int, NoneType, _Absent)
_STR_OR_ABSENT: Final = (str, _Absent)
_STR_OR_NULL: Final = (str, NoneType)
_STR_OR_NULL_OR_ABSENT: Final = (str, NoneType, _Absent)


def _is_ApiKeyCreated(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["token"].__class__ is str
        and v["created_at"].__class__ is int
        and v["expires_at"].__class__ in _INT_OR_NULL
    )


def _is_ApiKeyPage(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("total", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v.get("page", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v["limit"].__class__ is int
        and v.get("has_more", _ABSENT).__class__ in _BOOL_OR_NULL_OR_ABSENT
        and _is_ApiKeyPage_data(v["data"])
    )


def _is_ApiKeyPage_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_ApiKeyPage_data_item, v))


def _is_ApiKeyPage_data_item(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v.get("token_first_8", _ABSENT).__class__ in _STR_OR_ABSENT
        and v["last_used_at"].__class__ in _INT_OR_NULL
        and v["created_at"].__class__ is int
        and v["expires_at"].__class__ in _INT_OR_NULL
    )


def _is_App(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["mode"].__class__ is str
        and v["icon"].__class__ in _STR_OR_NULL
        and v["icon_background"].__class__ in _STR_OR_NULL
        and v["description"].__class__ in _STR_OR_NULL
        and v.get("api_key", _ABSENT).__class__ in _STR_OR_ABSENT
        and v.get("api_secret", _ABSENT).__class__ in _STR_OR_ABSENT
        and v["created_at"].__class__ is int
    )


def _is_AppApiKeys(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("api_key", _ABSENT).__class__ in _STR_OR_ABSENT
        and v.get("api_secret", _ABSENT).__class__ in _STR_OR_ABSENT
        and v["created_at"].__class__ is int
    )


def _is_AppNewApiKey(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("api_key", _ABSENT).__class__ in _STR_OR_ABSENT
        and v.get("api_secret", _ABSENT).__class__ in _STR_OR_ABSENT
    )


def _is_AppPage(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("total", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v.get("page", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v["limit"].__class__ is int
        and v.get("has_more", _ABSENT).__class__ in _BOOL_OR_NULL_OR_ABSENT
        and _is_AppPage_data(v["data"])
    )


def _is_AppPage_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_App, v))


def _is_Dataset(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v.get("description", _ABSENT).__class__ in _STR_OR_NULL_OR_ABSENT
        and v.get("permission", _ABSENT).__class__ in _STR_OR_ABSENT
        and v.get("document_count", _ABSENT).__class__ in _INT_OR_ABSENT
        and v.get("word_count", _ABSENT).__class__ in _INT_OR_ABSENT
        and v.get("created_at", _ABSENT).__class__ in _INT_OR_ABSENT
        and v.get("updated_at", _ABSENT).__class__ in _INT_OR_ABSENT
    )


def _is_DatasetPage(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("total", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v.get("page", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v["limit"].__class__ is int
        and v.get("has_more", _ABSENT).__class__ in _BOOL_OR_NULL_OR_ABSENT
        and _is_DatasetPage_data(v["data"])
    )


def _is_DatasetPage_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_Dataset, v))


def _is_Document(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["created_at"].__class__ is int
        and v["status"].__class__ is str
        and v["indexing_status"].__class__ is str
        and v["word_count"].__class__ is int
        and v.get("parsing_error", _ABSENT).__class__ in _STR_OR_NULL_OR_ABSENT
    )


def _is_DocumentPage(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v.get("total", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v.get("page", _ABSENT).__class__ in _INT_OR_NULL_OR_ABSENT
        and v["limit"].__class__ is int
        and v.get("has_more", _ABSENT).__class__ in _BOOL_OR_NULL_OR_ABSENT
        and _is_DocumentPage_data(v["data"])
    )


def _is_DocumentPage_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_Document, v))


def _is_ModelList(v: Any) -> bool:
    return v.__class__ is dict and _is_ModelList_data(v["data"])


def _is_ModelList_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_ModelList_data_item, v))


def _is_ModelList_data_item(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["model_type"].__class__ is str
        and v["provider"].__class__ is str
        and _is_ModelList_data_item_features(v["features"])
        and _is_ModelList_data_item_parameter_rules(v["parameter_rules"])
        and _is_ModelList_data_item_parameter_rules(v["pricing"])
    )


def _is_ModelList_data_item_features(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_ModelList_data_item_features_item, v))


def _is_ModelList_data_item_features_item(v: Any) -> bool:
    return v.__class__ is str


def _is_ModelList_data_item_parameter_rules(v: Any) -> bool:
    return v.__class__ is dict


def _is_ModelProviderList(v: Any) -> bool:
    return v.__class__ is dict and _is_ModelProviderList_data(v["data"])


def _is_ModelProviderList_data(v: Any) -> bool:
    return v.__class__ is list and all(map(_is_ModelProviderList_data_item, v))


def _is_ModelProviderList_data_item(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["provider"].__class__ is str
        and v["provider_name"].__class__ is str
        and v["is_configured"].__class__ is bool
        and _is_ModelList_data_item_features(v["supported_model_types"])
    )


def _is_Result(v: Any) -> bool:
    return v.__class__ is dict and v["result"].__class__ is str


def _is_User(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["email"].__class__ is str
        and v["avatar"].__class__ in _STR_OR_NULL
        and v["created_at"].__class__ is int
        and v["role"].__class__ is str
    )


def _is_Workspace(v: Any) -> bool:
    return (
        v.__class__ is dict
        and v["id"].__class__ is str
        and v["name"].__class__ is str
        and v["created_at"].__class__ is int
        and v["plan"].__class__ is str
        and _is_ModelList_data_item_parameter_rules(v["features"])
        and _is_ModelList_data_item_parameter_rules(v["usage"])
    )


FAST: Final[dict[str, Callable[[Any], bool]]] = {
    "ApiKeyCreated": _is_ApiKeyCreated,
    "ApiKeyPage": _is_ApiKeyPage,
    "App": _is_App,
    "AppApiKeys": _is_AppApiKeys,
    "AppNewApiKey": _is_AppNewApiKey,
    "AppPage": _is_AppPage,
    "Dataset": _is_Dataset,
    "DatasetPage": _is_DatasetPage,
    "Document": _is_Document,
    "DocumentPage": _is_DocumentPage,
    "ModelList": _is_ModelList,
    "ModelProviderList": _is_ModelProviderList,
    "Result": _is_Result,
    "User": _is_User,
    "Workspace": _is_Workspace,
}
