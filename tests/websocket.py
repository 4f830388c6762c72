"""A WebSocket client for ASGI apps in tests."""
import json

from asgiref.testing import ApplicationCommunicator


class WebsocketCommunicator(ApplicationCommunicator):
    """A WebSocket client for an ASGI app (channels.testing would pull in daphne)."""

    def __init__(self, application, path: str) -> None:
        self.scope = {"type": "websocket", "path": path, "headers": [], "subprotocols": []}
        self._application = application

    async def connect(self, timeout: float = 5) -> tuple[bool, int | None]:
        super().__init__(self._application, self.scope)
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code")
        return True, None

    async def send_json_to(self, data: dict) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, timeout: float = 5) -> dict:
        return json.loads((await self.receive_output(timeout))["text"])

    async def disconnect(self, code: int = 1000) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(5)
