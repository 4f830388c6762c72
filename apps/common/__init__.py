"""Helpers several apps share (the API's error body and pagination, the task queue front,
child processes). The bottom layer: it imports no other app."""
