from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.withdrawal import Withdrawal
from ...models.withdrawal_request import WithdrawalRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: WithdrawalRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_user_grant, Unset):
        headers["X-User-Grant"] = x_user_grant

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/withdrawals",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Withdrawal | None:
    if response.status_code == 201:
        response_201 = Withdrawal.from_dict(response.json())

        return response_201

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
) -> Response[Problem | Withdrawal]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WithdrawalRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Response[Problem | Withdrawal]:
    """Withdraw earnings as cash (gross USD cents; the method's fee comes out of it)

    Args:
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (WithdrawalRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Withdrawal]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: WithdrawalRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Problem | Withdrawal | None:
    """Withdraw earnings as cash (gross USD cents; the method's fee comes out of it)

    Args:
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (WithdrawalRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Withdrawal
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WithdrawalRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Response[Problem | Withdrawal]:
    """Withdraw earnings as cash (gross USD cents; the method's fee comes out of it)

    Args:
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (WithdrawalRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Withdrawal]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        x_user_grant=x_user_grant,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: WithdrawalRequest,
    idempotency_key: str,
    x_user_grant: str | Unset = UNSET,
) -> Problem | Withdrawal | None:
    """Withdraw earnings as cash (gross USD cents; the method's fee comes out of it)

    Args:
        idempotency_key (str):
        x_user_grant (str | Unset):
        body (WithdrawalRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Withdrawal
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            x_user_grant=x_user_grant,
        )
    ).parsed
