"""Production settings load only with their secrets, and `check --deploy` is clean."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "oracle_platform.settings.production",
    "SECRET_KEY": "x7!Qe2#pL9vR4@tZ8wK1mN6bH3jD5sF0gA2cY7uI9oP4eW1qX-test-only-key",
    "ALLOWED_HOSTS": "oracle.example.com",
    "DATABASE_URL": "postgres://oracle@db.example.com:5432/oracle",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "OP_FIELD_ENCRYPTION_KEYS": "kWh1pN0dYk4oXl9bQ6vX2r3Tt8uZqgH5fJm7cS1aB0E=",
    "OP_SITE_URL": "https://oracle.example.com",
}


def run_manage(*args: str, drop: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    if drop:
        env.pop(drop)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", drop="SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", drop="ALLOWED_HOSTS")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_refuses_to_start_without_a_field_encryption_key():
    result = run_manage("check", drop="OP_FIELD_ENCRYPTION_KEYS")
    assert result.returncode != 0
    assert "OP_FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_check_deploy_reports_nothing():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_neither_installs_nor_routes_the_devnet_even_on_the_devnet_network():
    # A production process may read a devnet's chains (prod-smoke does), but the devnet's app,
    # pages and control settings are a development tool that production never carries.
    probe = (
        "from django.apps import apps; from django.conf import settings; from django.urls import "
        "resolve, Resolver404\n"
        "try:\n    resolve('/devnet/'); routed = True\nexcept Resolver404:\n    routed = False\n"
        "print(apps.is_installed('apps.devnet'), routed,\n"
        "      hasattr(settings, 'OP_DEVNET_CONTROL_URL'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV, OP_NETWORK="devnet")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", probe], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False"]


def test_local_settings_install_the_devnet_only_on_the_devnet_network():
    probe = "from django.apps import apps; print(apps.is_installed('apps.devnet'))"
    outcomes = {}
    for network in ("devnet", "mainnet"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oracle_platform.settings.local",
               "OP_NETWORK": network}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", probe], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outcomes[network] = result.stdout.strip()
    assert outcomes == {"devnet": "True", "mainnet": "False"}
