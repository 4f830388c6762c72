"""WebSocket routes, served by the ASGI process. The live dashboard and the WebSocket API
add their consumers here."""
from django.urls import URLPattern, path

from apps.api.consumers import PriceStreamConsumer
from apps.dashboard.consumers import LiveConsumer
from apps.status.consumers import StatusProbeConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/v1/prices", PriceStreamConsumer.as_asgi()),
    path("ws/v1/status", StatusProbeConsumer.as_asgi()),  # public: the availability probe
]
