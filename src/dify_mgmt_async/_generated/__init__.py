# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""A client library for accessing Dify Management API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
