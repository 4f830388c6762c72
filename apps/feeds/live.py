"""Live updates: the new state of a pair goes to the channel-layer groups its open pages
listen on (Redis when REDIS_URL is set, so every instance's clients get it)."""
import asyncio
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
OVERVIEW = "live.overview"
# The event loop serving this process's WebSockets, noted by the consumer: the in-memory
# channel layer (one process, no Redis) only wakes listeners from their own loop.
server_loop: asyncio.AbstractEventLoop | None = None


def pair_group(pair_id: int) -> str:
    return f"live.pair.{pair_id}"


def api_pair_group(pair_id: int) -> str:
    """WebSocket API clients of this pair (apps/api/consumers.py): the public state's shape."""
    return f"api.pair.{pair_id}"


def publish_states(states: dict[int, dict], public: dict[int, dict]) -> None:
    """Send each changed pair's state to its page, its public shape (`public`, as the API
    shows it) to WebSocket API clients, and a one-line summary to the overview."""
    layer = get_channel_layer()
    if layer is None or not states:
        return
    try:
        if server_loop is not None and server_loop.is_running():
            # Waited for, so that updates of one pair arrive in the order they were made.
            sending = _send_all(layer, states, public)
            asyncio.run_coroutine_threadsafe(sending, server_loop).result(10)
        else:
            async_to_sync(_send_all)(layer, states, public)
    except Exception:  # a live update is a courtesy: never let it break the write path
        logger.exception("could not publish live updates")


async def _send_all(layer, states: dict[int, dict], public: dict[int, dict]) -> None:
    summary = {}
    for pair_id, state in states.items():
        await layer.group_send(api_pair_group(pair_id),
                               {"type": "api.state", "state": public[pair_id]})
        await layer.group_send(pair_group(pair_id),
                               _push("pair.state", {"type": "pair", "state": state}))
        summary[state["pair"]] = {"consensus": state["consensus"], "computed_at":
                                  state["computed_at"]}
    await layer.group_send(OVERVIEW, _push("overview.state", {"type": "overview",
                                                              "pairs": summary}))


def _push(event_type: str, message: dict) -> dict:
    """A channel-layer event carrying the client's message already encoded: once here, not
    once per open page (a popular pair's 1,000 pages meant 1,000 json.dumps per update)."""
    return {"type": event_type, "text": json.dumps(message)}
