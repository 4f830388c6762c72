"""The dashboard: server-rendered pages (market overview, pairs, protocols, ingestion health)
and their live updates (/ws/live/). An edge app: it reads feeds and protocols."""
