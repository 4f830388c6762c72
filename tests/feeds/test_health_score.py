from decimal import Decimal

from apps.feeds.health import protocol_health, score


def test_a_perfect_feed_scores_100():
    health = score(uptime=1.0, error_rate=0.0, deviation_bps=Decimal(0),
                   limit_bps=Decimal(100), status="fresh")
    assert health.score == 100


def test_each_component_weighs_as_documented():
    assert score(uptime=0.5, error_rate=0.0, deviation_bps=Decimal(0), limit_bps=Decimal(100),
                 status="fresh").score == 80
    assert score(uptime=1.0, error_rate=0.5, deviation_bps=Decimal(0), limit_bps=Decimal(100),
                 status="fresh").score == 90
    assert score(uptime=1.0, error_rate=0.0, deviation_bps=Decimal(-50),
                 limit_bps=Decimal(100), status="fresh").score == 90
    assert score(uptime=1.0, error_rate=0.0, deviation_bps=Decimal(500),
                 limit_bps=Decimal(100), status="late").score == 70
    assert score(uptime=0.0, error_rate=1.0, deviation_bps=None, limit_bps=Decimal(100),
                 status="stale").score == 20


def test_unknown_status_gets_no_score_not_a_bad_one():
    health = score(uptime=0.0, error_rate=0.0, deviation_bps=None, limit_bps=Decimal(100),
                   status="unknown")
    assert health.score is None and "unknown" in health.explanation


def test_protocol_health_is_the_mean_of_scored_feeds():
    perfect = score(uptime=1, error_rate=0, deviation_bps=None, limit_bps=Decimal(1),
                    status="fresh")
    half = score(uptime=0, error_rate=0, deviation_bps=None, limit_bps=Decimal(1),
                 status="late")
    unknown = score(uptime=0, error_rate=0, deviation_bps=None, limit_bps=Decimal(1),
                    status="unknown")
    assert protocol_health({1: perfect, 2: half, 3: unknown}) == 75
