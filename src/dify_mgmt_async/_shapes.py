# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""The JSON shape of every answer the SDK parses into a model, read from the spec.

``_response_check`` walks these before a model is built, so an answer that does not match the
spec becomes ``APIResponseValidationError`` naming the field. See ``generator/namespaces.py:shape``.
"""

from __future__ import annotations

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
