"""WebSocket routes, served by the ASGI process. The live dashboard and the WebSocket API
add their consumers here."""
from django.urls import URLPattern, path

from apps.feeds.consumers import LiveConsumer
from apps.feeds.ws_api import PriceStreamConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/v1/prices", PriceStreamConsumer.as_asgi()),
]
