"""WebSocket routes, served by the ASGI process. The live dashboard and the WebSocket API
add their consumers here."""
from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
