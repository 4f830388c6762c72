"""Python client for the Oracle Platform REST API (/api/v1/).

    from oracle_platform_sdk import Client

    with Client("https://oracles.example.com", "op_live_…") as client:
        latest = client.pair_latest("ETH-USD")   # consensus price as decimal.Decimal
        for feed in client.feeds(protocol="pyth"):  # every page, through the `next` links
            ...
"""
from ._core import ApiError, RetryPolicy, __version__
from .client import OPERATIONS, AsyncClient, AsyncPaginator, Client, Paginator

__all__ = ["OPERATIONS", "ApiError", "AsyncClient", "AsyncPaginator", "Client", "Paginator",
           "RetryPolicy", "__version__"]
