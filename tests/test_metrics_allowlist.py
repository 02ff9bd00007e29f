"""``METRICS_ALLOW_IPS``: who may read /metrics and /openapi.json on the callback port."""

from __future__ import annotations

import ipaddress

import pytest

from app.config import ConfigError, load_config

OFFICE = "10.1.2.3"
INTERNET = "203.0.113.9"


@pytest.fixture
def allow(app, monkeypatch):
    """Set METRICS_ALLOW_IPS on the test app for one test, as the environment would."""

    def set_to(raw: str) -> None:
        networks = load_config({"METRICS_ALLOW_IPS": raw})["METRICS_ALLOW_IPS"]
        monkeypatch.setitem(app.config, "METRICS_ALLOW_IPS", networks)

    return set_to


def get(client, path: str, remote_addr: str):
    return client.get(path, environ_base={"REMOTE_ADDR": remote_addr})


def test_unset_serves_every_address_as_before():
    assert load_config({})["METRICS_ALLOW_IPS"] == ()


def test_addresses_and_blocks_are_read_comma_separated():
    networks = load_config({"METRICS_ALLOW_IPS": "127.0.0.1, 10.0.0.0/8,::1,"})
    assert networks["METRICS_ALLOW_IPS"] == tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    )


def test_each_bad_entry_is_its_own_line():
    with pytest.raises(ConfigError) as raised:
        load_config({"METRICS_ALLOW_IPS": "10.0.0.0/33, localhost, 127.0.0.1"})
    assert str(raised.value).splitlines() == [
        "METRICS_ALLOW_IPS: '10.0.0.0/33' is not an IP address or CIDR block, e.g. 10.0.0.0/8",
        "METRICS_ALLOW_IPS: 'localhost' is not an IP address or CIDR block, e.g. 10.0.0.0/8",
    ]


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json"])
def test_an_address_outside_the_list_gets_403_json(client, allow, path):
    allow("127.0.0.1, 10.0.0.0/8")
    refused = get(client, path, INTERNET)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "Forbidden",
        "message": f"{path} is not served to {INTERNET} (METRICS_ALLOW_IPS)",
    }
    assert get(client, path, OFFICE).status_code == 200
    assert get(client, path, "127.0.0.1").status_code == 200


def test_an_ipv4_client_on_a_dual_stack_socket_matches_its_ipv4_block(client, allow):
    allow("10.0.0.0/8")
    assert get(client, "/metrics", f"::ffff:{OFFICE}").status_code == 200
    assert get(client, "/metrics", f"::ffff:{INTERNET}").status_code == 403


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json"])
def test_with_the_list_unset_any_address_is_served(client, path):
    assert get(client, path, INTERNET).status_code == 200


def test_callbacks_and_probes_are_not_restricted(client, allow):
    allow("127.0.0.1")
    assert get(client, "/healthz", INTERNET).status_code == 200
    callback = client.post("/igpx/transaction", data=b"{}", environ_base={"REMOTE_ADDR": INTERNET})
    assert callback.status_code == 200
    assert callback.get_json()["error"] == "INVALID_SIGNATURE"
