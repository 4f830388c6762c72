"""The RedStone gateway adapter on RedStone's real signed packages (a recorded gateway body),
with the real registry signers and `now` frozen at the packages' time."""
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from apps.protocols.adapters.redstone import RedStoneGatewayAdapter, registry_signers
from tests.factories import FeedFactory

BODY = (Path(__file__).parents[1]
        / "fixtures/real/redstone_primary_prod_data_packages_full.json").read_bytes()
PACKAGES = json.loads(BODY, parse_float=Decimal)
NOW = datetime.fromtimestamp(1719856900 + 30, tz=UTC)  # the packages are from 1719856900000 ms


@pytest.fixture
def gateway(settings):
    settings.OP_REDSTONE_GATEWAY_URL = "http://gateway.test"
    settings.OP_REDSTONE_SIGNERS = []  # RedStone's own registry list
    with responses.RequestsMock() as mocked:
        mocked.get("http://gateway.test/data-packages/latest/redstone-primary-prod", body=BODY)
        yield


@pytest.mark.parametrize("feed_id", ["ETH", "BTC", "USDC.DAI"])
def test_real_packages_give_the_median_of_the_signed_values(db, gateway, feed_id):
    feed = FeedFactory(chain=None, source_kind="http", decimals=8,
                       params={"data_feed_id": feed_id,
                               "data_service_id": "redstone-primary-prod"})
    result = RedStoneGatewayAdapter().read([feed], now=NOW)
    assert result.problems == []
    (obs,) = result.observations
    assert obs.verified is True
    assert obs.source_ts == datetime.fromtimestamp(1719856900, tz=UTC)
    signed = sorted(Decimal(str(p["dataPoints"][0]["value"])) for p in PACKAGES[feed_id])
    price = Decimal(obs.raw_answer).scaleb(-obs.decimals)
    # The median of five signers (their values as signed, i.e. at the package's decimals).
    assert abs(price - signed[2]) <= Decimal(10) ** -obs.decimals * 10**(obs.decimals - 8)


def test_the_registry_lists_the_real_primary_prod_signers():
    signers = registry_signers("redstone-primary-prod")
    assert "0x8BB8F32Df04c8b654987DAaeD53D6B6091e3B774" in signers
    assert len(signers) >= 5


def test_packages_too_old_for_now_are_refused(db, gateway):
    feed = FeedFactory(chain=None, source_kind="http", params={"data_feed_id": "ETH"})
    later = datetime.fromtimestamp(1719856900 + 3600, tz=UTC)
    result = RedStoneGatewayAdapter().read([feed], now=later)
    assert result.observations == []
    assert {p.reason for p in result.problems} == {"too_old"}
