from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.change_payout_method_request import ChangePayoutMethodRequest
from ...models.payout_method_change import PayoutMethodChange
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    creator_id: str,
    *,
    body: ChangePayoutMethodRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_user_grant, Unset):
        headers["X-User-Grant"] = x_user_grant

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/creators/{creator_id}/payout-method".format(
            creator_id=quote(str(creator_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PayoutMethodChange | Problem | None:
    if response.status_code == 200:
        response_200 = PayoutMethodChange.from_dict(response.json())

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
) -> Response[PayoutMethodChange | Problem]:
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
    body: ChangePayoutMethodRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Response[PayoutMethodChange | Problem]:
    """Change where a creator's payouts go: recorded with the caller, the end user and the time; new
    withdrawals wait out a hold (PAYOUT_METHOD_CHANGE_HOLD_HOURS) and a payout_method.changed event
    tells them

    Args:
        creator_id (str):
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (ChangePayoutMethodRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PayoutMethodChange | Problem]
    """

    kwargs = _get_kwargs(
        creator_id=creator_id,
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChangePayoutMethodRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> PayoutMethodChange | Problem | None:
    """Change where a creator's payouts go: recorded with the caller, the end user and the time; new
    withdrawals wait out a hold (PAYOUT_METHOD_CHANGE_HOLD_HOURS) and a payout_method.changed event
    tells them

    Args:
        creator_id (str):
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (ChangePayoutMethodRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PayoutMethodChange | Problem
    """

    return sync_detailed(
        creator_id=creator_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    ).parsed


async def asyncio_detailed(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChangePayoutMethodRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Response[PayoutMethodChange | Problem]:
    """Change where a creator's payouts go: recorded with the caller, the end user and the time; new
    withdrawals wait out a hold (PAYOUT_METHOD_CHANGE_HOLD_HOURS) and a payout_method.changed event
    tells them

    Args:
        creator_id (str):
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (ChangePayoutMethodRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PayoutMethodChange | Problem]
    """

    kwargs = _get_kwargs(
        creator_id=creator_id,
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    creator_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ChangePayoutMethodRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> PayoutMethodChange | Problem | None:
    """Change where a creator's payouts go: recorded with the caller, the end user and the time; new
    withdrawals wait out a hold (PAYOUT_METHOD_CHANGE_HOLD_HOURS) and a payout_method.changed event
    tells them

    Args:
        creator_id (str):
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (ChangePayoutMethodRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PayoutMethodChange | Problem
    """

    return (
        await asyncio_detailed(
            creator_id=creator_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            x_user_grant=x_user_grant,
        )
    ).parsed
