from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.lift_method_hold_request import LiftMethodHoldRequest
from ...models.method_hold_lift import MethodHoldLift
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    creator_id: str,
    *,
    body: LiftMethodHoldRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/internal/creators/{creator_id}/payout-method-hold/lift".format(
            creator_id=quote(str(creator_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> MethodHoldLift | Problem | None:
    if response.status_code == 200:
        response_200 = MethodHoldLift.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
) -> Response[MethodHoldLift | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LiftMethodHoldRequest,
) -> Response[MethodHoldLift | Problem]:
    """End a payout method change's hold now (an operator, with a reason): withdrawals waiting it out are
    sent at once, still held for review if the method changed again; recorded on the change

    Args:
        creator_id (str):
        body (LiftMethodHoldRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MethodHoldLift | Problem]
    """

    kwargs = _get_kwargs(
        creator_id=creator_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LiftMethodHoldRequest,
) -> MethodHoldLift | Problem | None:
    """End a payout method change's hold now (an operator, with a reason): withdrawals waiting it out are
    sent at once, still held for review if the method changed again; recorded on the change

    Args:
        creator_id (str):
        body (LiftMethodHoldRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MethodHoldLift | Problem
    """

    return sync_detailed(
        creator_id=creator_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LiftMethodHoldRequest,
) -> Response[MethodHoldLift | Problem]:
    """End a payout method change's hold now (an operator, with a reason): withdrawals waiting it out are
    sent at once, still held for review if the method changed again; recorded on the change

    Args:
        creator_id (str):
        body (LiftMethodHoldRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MethodHoldLift | Problem]
    """

    kwargs = _get_kwargs(
        creator_id=creator_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: LiftMethodHoldRequest,
) -> MethodHoldLift | Problem | None:
    """End a payout method change's hold now (an operator, with a reason): withdrawals waiting it out are
    sent at once, still held for review if the method changed again; recorded on the change

    Args:
        creator_id (str):
        body (LiftMethodHoldRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MethodHoldLift | Problem
    """

    return (
        await asyncio_detailed(
            creator_id=creator_id,
            client=client,
            body=body,
        )
    ).parsed
