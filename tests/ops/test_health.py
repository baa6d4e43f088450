"""Liveness, readiness and metrics endpoints, and JSON logs."""

import json
import logging

import pytest
import requests
from django.test import Client

from config.json_logs import JsonFormatter
from tests.stack import sign_in_at_provider

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_lives(client, dead_redis):
    # Liveness does not depend on Redis.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_redis_and_the_database_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_redis_when_it_does_not_answer(client, dead_redis):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failing"]) == ["redis"]


def test_readyz_names_the_database_when_it_does_not_answer(client, monkeypatch):
    from django.db import connection
    from django.db.utils import OperationalError

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"database": "OperationalError"}


def test_metrics_are_not_public_by_default(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


@pytest.mark.integration
def test_metrics_count_logins_and_logouts(oidc_settings, settings):
    settings.METRICS_TOKEN = "scrape-secret"

    def scrape():
        body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
        assert body.status_code == 200
        return {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in body.content.decode().splitlines()
            if line and not line.startswith("#")
        }

    before = scrape()
    user = Client()
    start = user.get("/auth/login/")
    callback = sign_in_at_provider(
        requests.Session(), start["Location"], "alice", stop_at="http://testserver/auth/callback/"
    )
    user.get(callback)
    user.post("/auth/logout/")
    after = scrape()
    assert after["bff_logins_total"] - before.get("bff_logins_total", 0) == 1
    logouts = 'bff_logouts_total{reason="logged_out"}'
    assert after[logouts] - before.get(logouts, 0) == 1
    assert 'bff_token_refresh_seconds_bucket{le="0.5"}' in after


def test_json_logs_are_one_object_per_line():
    record = logging.LogRecord(
        "accounts.tokens.renewal", logging.INFO, __file__, 1, "user %s", (7,), None
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "user 7"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "accounts.tokens.renewal"
    assert "\n" not in line
