"""Operations endpoints: health for the reverse proxy, metrics for monitoring."""

from __future__ import annotations


def test_health_says_ok_with_the_broker_and_connections(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": "local",
                               "broker_up": True, "connections": 0}


def test_health_is_degraded_when_the_broker_is_down(client):
    client.app.state.broker.is_up = lambda: False

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_metrics_count_a_connected_tablet(delegate_client, meeting):
    with delegate_client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "meeting": meeting.id, "last_seq": None})
        ws.receive_json(), ws.receive_json()
        text = delegate_client.get("/metrics").text

    assert "plenary_connections 1\n" in text
    assert "plenary_snapshots_total 1\n" in text
    assert "# TYPE plenary_broadcast_seconds histogram" in text


def test_metrics_are_plain_text_for_prometheus(client):
    response = client.get("/metrics")

    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
