"""The public API: REST under /api/v1/ (prices, pairs, feeds, protocols) and the WebSocket API
/ws/v1/prices. An edge app: it reads feeds and protocols and authenticates through api_keys;
the other apps' own endpoints (keys, alerts, webhooks) live with them and are composed in
oracle_platform/api_urls.py."""
