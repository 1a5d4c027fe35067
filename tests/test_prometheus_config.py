"""Prometheus and compose configuration: valid for promtool, loopback-only, consistent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.errors import AddressError, HarnessError
from harness.telemetry.prometheus import Prometheus, PrometheusApi, find_binary, scrape_config

ROOT = Path(__file__).resolve().parents[1]
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not on PATH")


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=30
    )


@needs_promtool
def test_compose_prometheus_config_passes_promtool() -> None:
    result = _check_config(ROOT / "prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_generated_config_passes_promtool(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(scrape_config(["127.0.0.1:9464", "[::1]:9465"], interval=0.5))
    result = _check_config(config)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = yaml.safe_load(config.read_text())
    assert loaded["global"]["scrape_interval"] == "500ms"
    assert loaded["scrape_configs"][0]["static_configs"][0]["targets"][1] == "[::1]:9465"


def test_compose_prometheus_scrapes_the_host_every_second() -> None:
    config = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text())
    assert config["global"]["scrape_interval"] == "1s"
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["host.docker.internal:9464"]


def test_compose_binds_only_loopback_and_mounts_provisioning() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"prometheus", "grafana"}
    for service in services.values():
        assert service["ports"] and all(p.startswith("127.0.0.1:") for p in service["ports"])
    assert "host.docker.internal:host-gateway" in services["prometheus"]["extra_hosts"]
    volumes = services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes
    assert services["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    for volume in services["prometheus"]["volumes"] + volumes:
        assert (ROOT / volume.split(":")[0]).exists(), volume


def test_missing_binary_is_a_clear_error() -> None:
    with pytest.raises(HarnessError, match="not on PATH"):
        find_binary("prometheus-that-does-not-exist")


def test_only_loopback_targets_and_urls() -> None:
    with pytest.raises(AddressError):
        Prometheus(["10.0.0.1:9464"])
    with pytest.raises(HarnessError, match="host:port"):
        Prometheus(["127.0.0.1"])
    with pytest.raises(AddressError):
        PrometheusApi("http://prometheus.example:9090")
    Prometheus(["[::1]:9464", "localhost:1"])  # accepted, not started


async def test_start_without_binary_cleans_up() -> None:
    prom = Prometheus(["127.0.0.1:9464"], binary="/nonexistent/prometheus")
    with pytest.raises(HarnessError, match="cannot run /nonexistent/prometheus"):
        await prom.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = prom.api
