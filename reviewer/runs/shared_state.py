"""The llm library's SharedState, kept in the database for the embedded profile.

Rows are created once per key and then locked for every change: SELECT ... FOR UPDATE on
PostgreSQL, and on SQLite the IMMEDIATE transactions of our settings, which serialize
writers. Expired rows count as absent and are reused in place.
"""

import time

from django.db import transaction

from reviewer.reviews.models import SharedValue


class DatabaseState:
    def __init__(self, clock=time.time):
        self._clock = clock

    def _row(self, key):
        SharedValue.objects.get_or_create(key=key)
        return SharedValue.objects.select_for_update().get(key=key)

    def _live(self, row):
        return row.value != "" and row.expires_at > self._clock()

    def take(self, key, amount, limit, window):
        with transaction.atomic():
            row = self._row(key)
            now = self._clock()
            if not self._live(row):
                row.value, row.expires_at = str(amount), now + window
                row.save(update_fields=["value", "expires_at"])
                return 0.0
            used = int(row.value)
            if used == 0 or used + amount <= limit:
                row.value = str(used + amount)
                row.save(update_fields=["value"])
                return 0.0
            return max(1e-3, row.expires_at - now)

    def refund(self, key, amount):
        with transaction.atomic():
            row = self._row(key)
            if self._live(row):
                row.value = str(max(0, int(row.value) - amount))
                row.save(update_fields=["value"])

    def get(self, key):
        row = SharedValue.objects.filter(key=key).first()
        return row.value if row is not None and self._live(row) else None

    def set(self, key, value, ttl):
        with transaction.atomic():
            row = self._row(key)
            row.value, row.expires_at = str(value), self._clock() + ttl
            row.save(update_fields=["value", "expires_at"])

    def add(self, key, value, ttl):
        with transaction.atomic():
            row = self._row(key)
            if self._live(row):
                return False
            row.value, row.expires_at = str(value), self._clock() + ttl
            row.save(update_fields=["value", "expires_at"])
            return True

    def incr(self, key, ttl):
        with transaction.atomic():
            row = self._row(key)
            if not self._live(row):
                row.value, row.expires_at = "1", self._clock() + ttl
            else:
                row.value = str(int(row.value) + 1)
            row.save(update_fields=["value", "expires_at"])
            return int(row.value)

    def delete(self, *keys):
        SharedValue.objects.filter(key__in=keys).update(value="", expires_at=0)
