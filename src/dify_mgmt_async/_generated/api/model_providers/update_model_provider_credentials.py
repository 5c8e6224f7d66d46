# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.provider_credentials_update import ProviderCredentialsUpdate
from ...models.result import Result
from ...types import Response


def _get_kwargs(
    provider_name: str,
    *,
    body: ProviderCredentialsUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/management/model-providers/{provider_name}/credentials".format(
            provider_name=quote(str(provider_name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Result | None:
    if response.status_code == 200:
        response_200 = Result.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Result.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Result]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    provider_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProviderCredentialsUpdate,
) -> Response[Error | Result]:
    """Set a model provider's credentials

     Replaces the provider's credentials. Their keys depend on the provider and are not checked here.

    Args:
        provider_name (str):
        body (ProviderCredentialsUpdate): A provider's new credentials.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Result]
    """

    kwargs = _get_kwargs(
        provider_name=provider_name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    provider_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProviderCredentialsUpdate,
) -> Error | Result | None:
    """Set a model provider's credentials

     Replaces the provider's credentials. Their keys depend on the provider and are not checked here.

    Args:
        provider_name (str):
        body (ProviderCredentialsUpdate): A provider's new credentials.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Result
    """

    return sync_detailed(
        provider_name=provider_name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    provider_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProviderCredentialsUpdate,
) -> Response[Error | Result]:
    """Set a model provider's credentials

     Replaces the provider's credentials. Their keys depend on the provider and are not checked here.

    Args:
        provider_name (str):
        body (ProviderCredentialsUpdate): A provider's new credentials.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Result]
    """

    kwargs = _get_kwargs(
        provider_name=provider_name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    provider_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProviderCredentialsUpdate,
) -> Error | Result | None:
    """Set a model provider's credentials

     Replaces the provider's credentials. Their keys depend on the provider and are not checked here.

    Args:
        provider_name (str):
        body (ProviderCredentialsUpdate): A provider's new credentials.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Result
    """

    return (
        await asyncio_detailed(
            provider_name=provider_name,
            client=client,
            body=body,
        )
    ).parsed
