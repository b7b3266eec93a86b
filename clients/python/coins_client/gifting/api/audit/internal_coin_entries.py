from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.internal_coin_entries_kind import InternalCoinEntriesKind
from ...models.internal_coin_entry_page import InternalCoinEntryPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 500,
    cursor: None | str | Unset = UNSET,
    kind: InternalCoinEntriesKind,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_kind = kind.value
    params["kind"] = json_kind

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/internal/coin-entries",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> InternalCoinEntryPage | Problem | None:
    if response.status_code == 200:
        response_200 = InternalCoinEntryPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[InternalCoinEntryPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 500,
    cursor: None | str | Unset = UNSET,
    kind: InternalCoinEntriesKind,
) -> Response[InternalCoinEntryPage | Problem]:
    """Every credit of a purchase's coins, or clawback of a chargeback's, for the auditor

    Args:
        limit (int | Unset):  Default: 500.
        cursor (None | str | Unset):
        kind (InternalCoinEntriesKind):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[InternalCoinEntryPage | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        kind=kind,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 500,
    cursor: None | str | Unset = UNSET,
    kind: InternalCoinEntriesKind,
) -> InternalCoinEntryPage | Problem | None:
    """Every credit of a purchase's coins, or clawback of a chargeback's, for the auditor

    Args:
        limit (int | Unset):  Default: 500.
        cursor (None | str | Unset):
        kind (InternalCoinEntriesKind):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        InternalCoinEntryPage | Problem
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        kind=kind,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 500,
    cursor: None | str | Unset = UNSET,
    kind: InternalCoinEntriesKind,
) -> Response[InternalCoinEntryPage | Problem]:
    """Every credit of a purchase's coins, or clawback of a chargeback's, for the auditor

    Args:
        limit (int | Unset):  Default: 500.
        cursor (None | str | Unset):
        kind (InternalCoinEntriesKind):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[InternalCoinEntryPage | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        kind=kind,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 500,
    cursor: None | str | Unset = UNSET,
    kind: InternalCoinEntriesKind,
) -> InternalCoinEntryPage | Problem | None:
    """Every credit of a purchase's coins, or clawback of a chargeback's, for the auditor

    Args:
        limit (int | Unset):  Default: 500.
        cursor (None | str | Unset):
        kind (InternalCoinEntriesKind):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        InternalCoinEntryPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            kind=kind,
        )
    ).parsed
