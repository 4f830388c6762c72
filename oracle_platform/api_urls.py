"""`/api/v1/`: the public REST API, its OpenAPI schema and its documentation pages."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.alerts import api as alerts
from apps.api_keys import api as keys
from apps.feeds import api as feeds
from apps.protocols import api as protocols

urlpatterns = [
    path("protocols", protocols.ProtocolList.as_view(), name="api_protocols"),
    path("protocols/<slug:slug>", protocols.ProtocolDetail.as_view(), name="api_protocol"),
    path("protocols/<slug:slug>/health", protocols.ProtocolHealth.as_view(),
         name="api_protocol_health"),
    path("chains", feeds.ChainList.as_view(), name="api_chains"),
    path("assets", feeds.AssetList.as_view(), name="api_assets"),
    path("pairs", feeds.PairList.as_view(), name="api_pairs"),
    path("pairs/<str:slug>", feeds.PairDetail.as_view(), name="api_pair"),
    path("pairs/<str:slug>/latest", feeds.PairLatest.as_view(), name="api_pair_latest"),
    path("pairs/<str:slug>/history", feeds.PairHistory.as_view(), name="api_pair_history"),
    path("pairs/<str:slug>/deviation", feeds.PairDeviation.as_view(),
         name="api_pair_deviation"),
    path("pairs/<str:slug>/health", feeds.PairHealth.as_view(), name="api_pair_health"),
    path("feeds", feeds.FeedList.as_view(), name="api_feeds"),
    path("feeds/<slug:key>", feeds.FeedDetail.as_view(), name="api_feed"),
    path("feeds/<slug:key>/latest", feeds.FeedLatest.as_view(), name="api_feed_latest"),
    path("feeds/<slug:key>/history", feeds.FeedHistory.as_view(), name="api_feed_history"),
    path("feeds/<slug:key>/health", feeds.FeedHealth.as_view(), name="api_feed_health"),
    path("feeds/<slug:key>/quarantine", feeds.FeedQuarantine.as_view(),
         name="api_feed_quarantine"),
    path("keys", keys.KeyList.as_view(), name="api_key_list"),
    path("keys/<int:key_id>", keys.KeyDetail.as_view(), name="api_key"),
    path("keys/<int:key_id>/rotate", keys.KeyRotate.as_view(), name="api_key_rotate"),
    path("usage", keys.Usage.as_view(), name="api_usage"),
    path("webhooks", alerts.WebhookList.as_view(), name="api_webhooks"),
    path("webhooks/<int:endpoint_id>", alerts.WebhookDetail.as_view(), name="api_webhook"),
    path("webhooks/<int:endpoint_id>/rotate-secret", alerts.WebhookRotateSecret.as_view(),
         name="api_webhook_rotate_secret"),
    path("webhooks/<int:endpoint_id>/test", alerts.WebhookTest.as_view(),
         name="api_webhook_test"),
    path("webhooks/<int:endpoint_id>/messages", alerts.WebhookMessages.as_view(),
         name="api_webhook_messages"),
    path("webhooks/<int:endpoint_id>/messages/<str:msg_id>/redeliver",
         alerts.WebhookRedeliver.as_view(), name="api_webhook_redeliver"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api_schema"), name="api_redoc"),
]
