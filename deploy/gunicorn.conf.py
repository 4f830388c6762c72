"""gunicorn settings for the HTTP process (sync workers; WebSockets go to uvicorn)."""
import multiprocessing
import os

bind = os.environ.get("OP_GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OP_GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
forwarded_allow_ips = os.environ.get("OP_FORWARDED_ALLOW_IPS", "127.0.0.1")
