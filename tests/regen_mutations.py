"""Spec mutations for the regeneration suite."""

from __future__ import annotations

from typing import Any

ERR = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "429": {"$ref": "#/components/responses/RateLimited"},
}


def _json(schema: dict[str, Any], description: str = "OK.") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def additive(spec: dict[str, Any]) -> None:
    """New operations, parameters and responses that do not touch each other."""
    paths = spec["paths"]
    spec["tags"].append({"name": "reports", "description": "Usage reports."})
    paths["/api/management/apps/{app_id}/summary"] = {
        "parameters": [{"$ref": "#/components/parameters/AppId"}],
        "get": {
            "tags": ["apps"],
            "operationId": "get_app_summary",
            "x-sdk-method": "get_summary",
            "summary": "An app's summary",
            "description": "Inline response schema with a title.",
            "responses": {
                "200": _json(
                    {
                        "title": "AppSummary",
                        "type": "object",
                        "required": ["app_id", "messages"],
                        "properties": {
                            "app_id": {"type": "string"},
                            "messages": {"type": "integer"},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                ),
                **ERR,
            },
        },
    }
    paths["/api/management/apps/{app_id}/usage"] = {
        "parameters": [{"$ref": "#/components/parameters/AppId"}],
        "get": {
            "tags": ["apps"],
            "operationId": "get_app_usage",
            "summary": "An app's usage",
            "description": "Inline response schema without a title.",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["tokens"],
                        "properties": {"tokens": {"type": "integer"}, "cost": {"type": ["number", "null"]}},
                    }
                ),
                **ERR,
            },
        },
    }
    paths["/api/management/apps/{app_id}/notes"] = {
        "parameters": [{"$ref": "#/components/parameters/AppId"}],
        "post": {
            "tags": ["apps"],
            "operationId": "add_app_note",
            "x-sdk-method": "add_note",
            "summary": "Add a note",
            "description": "Inline request body.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["text"],
                            "additionalProperties": False,
                            "properties": {
                                "text": {"type": "string", "minLength": 1, "maxLength": 50},
                                "pinned": {"type": "boolean"},
                            },
                        }
                    }
                },
            },
            "responses": {"201": _json({"$ref": "#/components/schemas/Result"}), **ERR},
        },
    }
    paths["/api/management/reports/{report_id}"] = {
        "parameters": [
            {"name": "report_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}},
            {
                "name": "X-Trace-Id",
                "in": "header",
                "required": True,
                "description": "Trace id.",
                "schema": {"type": "string", "minLength": 1},
            },
        ],
        "get": {
            "tags": ["reports"],
            "operationId": "get_report",
            "x-sdk-method": "get",
            "summary": "A report",
            "description": "Path-level path and header parameters; array and enum query.",
            "parameters": [
                {
                    "name": "fields",
                    "in": "query",
                    "required": False,
                    "explode": True,
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
                {
                    "name": "order",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["asc", "desc"]},
                },
            ],
            "responses": {"200": _json({"$ref": "#/components/schemas/Result"}), **ERR},
        },
    }
    paths["/api/management/reports/{report_id}/text"] = {
        "get": {
            "tags": ["reports"],
            "operationId": "get_report_text",
            "x-sdk-method": "text",
            "summary": "A report as text",
            "description": "A text/plain answer.",
            "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The text.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                **ERR,
            },
        },
    }
    paths["/api/management/reports/{report_id}/download"] = {
        "get": {
            "tags": ["reports"],
            "operationId": "download_report",
            "x-sdk-method": "download",
            "summary": "Download a report",
            "description": "A binary answer.",
            "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The file.",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                **ERR,
            },
        },
    }
    paths["/api/management/apps/{app_id}/archive"] = {
        "parameters": [{"$ref": "#/components/parameters/AppId"}],
        "post": {
            "tags": ["apps"],
            "operationId": "archive_app",
            "x-sdk-method": "archive",
            "summary": "Archive an app",
            "description": "Answers 204 only.",
            "responses": {"204": {"description": "Archived."}, **ERR},
        },
    }
    paths["/api/management/ping"] = {
        "get": {
            "operationId": "ping",
            "summary": "Ping",
            "description": "An operation without tags.",
            "responses": {"200": _json({"$ref": "#/components/schemas/Result"}), **ERR},
        },
    }


def changes(spec: dict[str, Any]) -> None:
    """Changes to existing operations."""
    schemas = spec["components"]["schemas"]
    schemas["AppMode"]["enum"].append("pipeline")
    create = schemas["DatasetCreate"]["properties"]
    create["about"] = create.pop("description")
    schemas["AppCreate"]["required"].append("icon")
    del spec["paths"]["/api/management/api-keys/{api_key_id}"]
