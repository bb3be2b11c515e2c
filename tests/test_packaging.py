"""The packaging lints what can be linted without a container engine or a cluster: the
Dockerfile with hadolint, the systemd units with `systemd-analyze verify`, the Kubernetes
manifests against the Kubernetes schemas (kubernetes-validate, strict), and what each must
say (non-root, a health check, one replica with Recreate on SQLite, the probes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"


def _tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        reason = f"{name} is not installed (test extras, or Debian's systemd for systemd-analyze)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def test_the_dockerfile_passes_hadolint_and_runs_as_a_non_root_user_with_a_health_check() -> None:
    done = subprocess.run(
        [_tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all("slim" in image for image in stages)
    last = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", last, re.M)
    assert "HEALTHCHECK" in last and "/healthz" in last
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which is not there"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "data" in ignored  # no store or secrets in the image


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    helpdesk = BIN / "helpdesk"
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/helpdesk-bot/.venv/bin/helpdesk", str(helpdesk))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    done = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=60)
    # verify only warns about unknown keys and bad values: any line it prints is a problem
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr
    service = (DEPLOY / "systemd" / "helpdesk-bot.service").read_text()
    assert "User=helpdesk" in service and "KillSignal=SIGTERM" in service
    assert "ExecStart=/opt/helpdesk-bot/.venv/bin/helpdesk serve" in service


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


@pytest.mark.parametrize("name", ["single-sqlite.yaml", "replicas-postgresql.yaml"])
def test_the_kubernetes_manifests_validate_against_the_schemas(name: str) -> None:
    done = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", str(DEPLOY / "kubernetes" / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = done.stdout.count(" passed for resource ")
    assert passed == len(_documents(name)), done.stdout


def test_one_replica_on_sqlite_is_recreated_never_doubled_and_probed() -> None:
    docs = {d["kind"]: d for d in _documents("single-sqlite.yaml")}
    deployment = docs["Deployment"]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"]["type"] == "Recreate"
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert (
        data["persistentVolumeClaim"]["claimName"]
        == docs["PersistentVolumeClaim"]["metadata"]["name"]
    )
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/var/lib/helpdesk"  # the image's HELPDESK_DATA_DIR
    assert "HELPDESK_DATA_DIR=/var/lib/helpdesk" in (ROOT / "Dockerfile").read_text()
    secrets = docs["Secret"]["stringData"]
    for key, value in secrets.items():  # placeholders and the example domain only
        assert re.search(r"REPLACE-ME|example\.com|DC=example|^/etc/", value), key
    settings = docs["ConfigMap"]["data"]["helpdesk.toml"]
    from bot.config import parse_settings

    parsed = parse_settings(settings, "configmap", {})
    assert parsed.directory.backend == "ldap+graph" and parsed.retention.dedupe_days == 30


def test_the_repository_ships_no_store_and_no_audit_anchor() -> None:
    """A fresh clone starts with an empty store: a committed anchor (`*.audit-head`) would
    not match the new store's first record, and the audit trail would read BROKEN from the
    first self-service action on."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist or a copied tree)")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert tracked, "git ls-files lists the checkout"
    generated = re.compile(r"\.(db|db-wal|db-shm|audit-head)$|(^|/)backups/")
    assert [path for path in tracked if generated.search(path)] == []
