import os

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewer.settings")

app = Celery("reviewer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["reviewer.runs", "reviewer.notifications"])


@worker_ready.connect
def _start_reaper(sender, **kwargs):
    # Every worker looks for reviews whose worker died, so no beat process is needed.
    from reviewer.runs.reaper import start_reaper_thread

    start_reaper_thread()


@worker_shutdown.connect
def _stop_reaper(sender, **kwargs):
    from reviewer.runs.reaper import stop_reaper_thread

    stop_reaper_thread()


@worker_process_init.connect
def _pack_in_the_child(**kwargs):
    # A prefork pool's child is daemonic: it cannot start packing processes of its own.
    from reviewer.runs.packing_pool import use_in_process

    use_in_process()


@worker_init.connect
def _bound_connections(sender, **kwargs):
    # A threads worker's reviews share one process, and so its database connections.
    from django.conf import settings

    from reviewer.runs.postgresql.base import limit_connections

    pool = sender.pool_cls  # a name, or the class the command line chose
    name = pool if isinstance(pool, str) else f"{pool.__module__}.{pool.__qualname__}"
    if "thread" in name.lower():
        limit_connections(settings.WORKER_DB_CONNECTIONS)
