"""Django's PostgreSQL backend with a bound on the connections one worker process opens.

A threads worker runs a hundred reviews; each closes its connection between bursts of
writes, but a hundred starting at once would each open one, past what a PostgreSQL
server allows (100 by default, shared with the web processes and other workers). With
a bound, a thread waits for a free connection as it would with a pool; the web
processes have none (`limit_connections` is called by the threads worker only).
"""

import threading
import weakref

from django.db import OperationalError
from django.db.backends.postgresql import base

WAIT_SECONDS = 60
_slots = None


def limit_connections(count):
    global _slots
    _slots = threading.BoundedSemaphore(count) if count > 0 else None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        slots = _slots
        if slots is None:
            return super().get_new_connection(conn_params)
        if not slots.acquire(timeout=WAIT_SECONDS):
            raise OperationalError("no free database connection in this worker")
        try:
            connection = super().get_new_connection(conn_params)
        except BaseException:
            slots.release()
            raise
        # Given back when the connection object goes, however it was closed.
        weakref.finalize(connection, slots.release)
        return connection
