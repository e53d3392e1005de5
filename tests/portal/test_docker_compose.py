"""docker-compose.yml (Docker does not run in CI; its file is read as Compose reads it): no
start without a SECRET_KEY, no known password unless DEMO=1 asks for the demo, a worker for
every queue of the settings."""

import re
from pathlib import Path

import yaml
from django.conf import settings

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
WORKERS = ["worker-usage", "worker-pdf", "worker-mail", "worker-payments"]
PORTAL_SERVICES = ["web", *WORKERS, "beat"]


def test_every_portal_service_refuses_to_start_without_a_secret_key():
    for name in PORTAL_SERVICES:
        key = COMPOSE["services"][name]["environment"]["SECRET_KEY"]
        # ${VAR:?message} makes Compose stop with the message when VAR is unset or empty.
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", key), (name, key)


def test_the_demo_data_and_its_known_passwords_load_only_with_demo_1():
    web = COMPOSE["services"]["web"]
    assert web["environment"]["DEMO"] == "${DEMO:-0}"
    script = web["command"][-1]
    assert 'if [ "$$DEMO" = 1 ]; then python manage.py seed_demo; fi' in script
    assert script.count("seed_demo") == 1


def test_no_service_creates_a_superuser_and_all_run_with_production_settings():
    text = yaml.safe_dump(COMPOSE)
    assert "createsuperuser" not in text
    assert "DJANGO_SUPERUSER" not in text
    for name in PORTAL_SERVICES:
        assert COMPOSE["services"][name]["environment"]["DEBUG"] == "false"


def test_each_queue_has_workers_of_its_own_and_every_worker_a_queue():
    served = {}
    for name, service in COMPOSE["services"].items():
        command = service.get("command", [])
        if command[:4] == ["celery", "-A", "portal", "worker"]:
            queues = [
                arg.removeprefix("--queues=") for arg in command if arg.startswith("--queues=")
            ]
            assert len(queues) == 1, (name, command)
            for queue in queues[0].split(","):
                served.setdefault(queue, []).append(name)
    assert sorted(served) == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)
    assert all(len(names) == 1 for names in served.values()), served
    assert sorted(name for names in served.values() for name in names) == sorted(WORKERS)
    web = COMPOSE["services"]["web"]
    for name in WORKERS:  # the same image, database and broker as the web process
        worker = COMPOSE["services"][name]
        assert worker["build"] == web["build"]
        for variable in ["DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"]:
            assert worker["environment"][variable] == web["environment"][variable]
