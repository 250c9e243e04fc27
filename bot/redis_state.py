"""Plans, execution runs, plan leases and gate heads on Redis, shared by workers on many machines.

The same contracts as the SQLite stores (:class:`bot.plans.PlanStore`,
:class:`bot.features.execution.store.RunStore`), so a job on one machine sees what a job
on another saved. Every write that decides something is one Lua script:

- ``{p}plan:<repo>#<issue>`` a hash (``revision``, ``data``: the record as JSON); ``{p}plans``
  the saved plans in the order they were first saved (``{p}plans:seq`` numbers them).
- ``{p}run:<repo>#<issue>`` likewise for runs; ``{p}runs`` all of them, ``{p}runs:<repo>`` a
  repository's issues (``find_branch``), ``{p}runs:active`` a set of the runs with a task
  under way (``installation_load`` reads only those, however long the history).
- ``{p}lease:<repo>#<issue>`` the plan lease: a hash (``owner``, ``expires``) with a ``PX``
  expiry, so a lease nobody releases disappears on its own.
- ``{p}heads:<repo>#<number>`` a pull request's heads by first sighting, and
  ``{p}head:<repo>#<number>`` the one accepted last (see :class:`RedisHeads`).

A save writes only if the row is still at the revision the job read; otherwise it raises
:class:`~bot.errors.PlanStoreConflict`, as the SQLite stores do. Lease times come from the
injected clock (machines need NTP), like the job queue's; the ``PX`` expiry is a backstop.
Repository names are lower-cased in keys: GitHub compares them case-insensitively.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import redis

from bot.context import Clock, SystemClock
from bot.errors import PlanStoreConflict, QueueError
from bot.features.execution.model import Run
from bot.features.execution.store import dump_run, installation_load, load_run, owns_branch
from bot.owners import lease_owner_id, owner_is_dead
from bot.plans import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_WAIT_SECONDS,
    PlanRecord,
    Sleep,
    record_columns,
    record_from_columns,
    wait_for_lease,
)
from bot.redis_queue import DEFAULT_PREFIX

# Heads of a pull request remembered in Redis, and for how long after the last push.
MAX_SHARED_HEADS = 32
HEADS_TTL_SECONDS = 30 * 24 * 3600

# KEYS: row, sequence, indexes..., sets...; ARGV: expected revision, data, now, member,
# number of indexes, then one '1'/'0' per set (member in it or not).
_SAVE = """
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
local indexes = tonumber(ARGV[5])
if rev == 0 then
  local seq = redis.call('INCR', KEYS[2])
  for i = 3, 2 + indexes do redis.call('ZADD', KEYS[i], 'NX', seq, ARGV[4]) end
end
for i = 3 + indexes, #KEYS do
  if ARGV[i + 3 - indexes] == '1' then
    redis.call('SADD', KEYS[i], ARGV[4])
  else
    redis.call('SREM', KEYS[i], ARGV[4])
  end
end
redis.call('HSET', KEYS[1], 'revision', rev + 1, 'data', ARGV[2], 'updated_at', ARGV[3])
return 1
"""

# KEYS: lease; ARGV: owner, now, expires, px. Returns the live holder, or nil once held.
_ACQUIRE = """
local held = redis.call('HMGET', KEYS[1], 'owner', 'expires')
if held[1] and held[1] ~= ARGV[1] and tonumber(held[2]) > tonumber(ARGV[2]) then
  return held[1]
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'expires', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return false
"""

# KEYS: lease; ARGV: dead holder, owner, expires, px. 1 when taken over.
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'expires', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: lease; ARGV: owner. Only the holder releases.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: heads, current, sequence; ARGV: head, max heads, ttl. Returns the current head.
_ACCEPT = """
local order, current = KEYS[1], KEYS[2]
if not redis.call('ZSCORE', order, ARGV[1]) then
  redis.call('ZADD', order, redis.call('INCR', KEYS[3]), ARGV[1])
end
local now = redis.call('GET', current)
local result = ARGV[1]
if now and now ~= ARGV[1] then
  local mine, theirs = redis.call('ZSCORE', order, ARGV[1]), redis.call('ZSCORE', order, now)
  if theirs and tonumber(theirs) > tonumber(mine) then result = now end
end
redis.call('SET', current, result, 'EX', ARGV[3])
redis.call('ZREMRANGEBYRANK', order, 0, -tonumber(ARGV[2]) - 1)
if not redis.call('ZSCORE', order, result) then
  redis.call('ZADD', order, redis.call('INCR', KEYS[3]), result)
end
redis.call('EXPIRE', order, ARGV[3])
return result
"""

# KEYS: heads, current; ARGV: head. The current head when it came after ARGV[1], else nil.
_NEWER = """
local now = redis.call('GET', KEYS[2])
if not now or now == ARGV[1] then return false end
local mine, theirs = redis.call('ZSCORE', KEYS[1], ARGV[1]), redis.call('ZSCORE', KEYS[1], now)
if mine and theirs and tonumber(mine) > tonumber(theirs) then return false end
return now
"""


@contextmanager
def _as_queue_error() -> Iterator[None]:
    """Redis failures surface as :class:`QueueError`, as the SQLite stores' do."""
    try:
        yield
    except redis.RedisError as exc:
        raise QueueError(f"the Redis state store failed: {exc}") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _slot(repo: str, number: int) -> str:
    return f"{repo.lower()}#{number}"


class _Rows:
    """Revisioned JSON rows under one kind of key (``plan`` or ``run``)."""

    def __init__(self, client: redis.Redis, prefix: str, kind: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._kind = kind
        self._save = client.register_script(_SAVE)

    def key(self, repo: str, issue: int) -> str:
        return f"{self._prefix}{self._kind}:{_slot(repo, issue)}"

    def index(self, suffix: str = "") -> str:
        return f"{self._prefix}{self._kind}s{suffix}"

    def read(self, repo: str, issue: int) -> tuple[int, str] | None:
        with _as_queue_error():
            revision, data = self._redis.hmget(self.key(repo, issue), ["revision", "data"])
        return None if data is None else (int(_text(revision)), _text(data))

    def read_many(self, slots: list[str]) -> list[tuple[str, int, str]]:
        """(slot, revision, data) of each row of ``slots`` that exists."""
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for slot in slots:
                pipe.hmget(f"{self._prefix}{self._kind}:{slot}", ["revision", "data"])
            rows = pipe.execute()
        return [
            (slot, int(_text(rev)), _text(data))
            for slot, (rev, data) in zip(slots, rows, strict=True)
            if data is not None
        ]

    def members(self, index: str) -> list[str]:
        with _as_queue_error():
            return [_text(member) for member in self._redis.zrange(index, 0, -1)]

    def set_members(self, key: str) -> list[str]:
        with _as_queue_error():
            return sorted(_text(member) for member in self._redis.smembers(key))

    def write(
        self,
        repo: str,
        issue: int,
        revision: int,
        data: str,
        now: float,
        indexes: list[str],
        sets: dict[str, bool] | None = None,
    ) -> None:
        """Save at ``revision``: first saves join the ordered ``indexes``; the row joins or
        leaves each of ``sets`` as its flag says."""
        sets = sets or {}
        keys = [self.key(repo, issue), self.index(":seq"), *indexes, *sets]
        flags = ["1" if inside else "0" for inside in sets.values()]
        args = [str(revision), data, repr(now), _slot(repo, issue), str(len(indexes)), *flags]
        with _as_queue_error():
            saved = int(self._save(keys=keys, args=args)) == 1
        if not saved:
            raise PlanStoreConflict(repo, issue)


class RedisPlanStore:
    """The plan store's contract (see :mod:`bot.plans`) on Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock | None = None,
        sleep: Sleep = time.sleep,
        new_owner: Callable[[], str] = lease_owner_id,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._redis = client
        self._rows = _Rows(client, prefix, "plan")
        self._prefix = prefix
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._new_owner = new_owner
        self._acquire = client.register_script(_ACQUIRE)
        self._take_over = client.register_script(_TAKE_OVER)
        self._release = client.register_script(_RELEASE)

    def load(self, repo: str, issue: int) -> PlanRecord:
        """The stored record, or an empty one (revision 0) when nothing was saved."""
        row = self._rows.read(repo, issue)
        if row is None:
            return PlanRecord(repo, issue)
        revision, data = row
        return record_from_columns(repo, revision, json.loads(data))

    def records(self) -> list[PlanRecord]:
        """Every saved record, oldest first."""
        rows = self._rows.read_many(self._rows.members(self._rows.index()))
        found = []
        for _, revision, data in rows:
            columns = json.loads(data)
            found.append(record_from_columns(columns["repo"], revision, columns))
        return found

    def save(self, record: PlanRecord) -> PlanRecord:
        """Write ``record`` if the row is still at ``record.revision``; returns it as saved."""
        data = json.dumps(record_columns(record), separators=(",", ":"), sort_keys=True)
        now = self._clock.now()
        self._rows.write(
            record.repo, record.issue, record.revision, data, now, [self._rows.index()]
        )
        return replace(record, revision=record.revision + 1)

    @contextmanager
    def lease(
        self,
        repo: str,
        issue: int,
        *,
        seconds: float = DEFAULT_LEASE_SECONDS,
        wait: float = DEFAULT_WAIT_SECONDS,
    ) -> Iterator[None]:
        """Hold the issue's lease for the block (see :meth:`bot.plans.PlanStore.lease`)."""
        owner = self._new_owner()
        key = f"{self._prefix}lease:{_slot(repo, issue)}"

        def acquire() -> bool:
            return self._try_acquire(key, owner, seconds)

        wait_for_lease(acquire, self._clock, self._sleep, repo, issue, wait)
        try:
            yield
        finally:
            with _as_queue_error():
                self._release(keys=[key], args=[owner])

    def _try_acquire(self, key: str, owner: str, seconds: float) -> bool:
        now = self._clock.now()
        args = [owner, repr(now), repr(now + seconds), str(max(1, math.ceil(seconds * 1000)))]
        with _as_queue_error():
            holder = self._acquire(keys=[key], args=args)
            if holder is None:
                return True
            if not owner_is_dead(_text(holder), owner):
                return False
            return int(self._take_over(keys=[key], args=[_text(holder), *args[:1], *args[2:]])) == 1


class RedisRunStore:
    """The execution run store's contract (see :mod:`bot.features.execution.store`) on Redis."""

    def __init__(
        self, client: redis.Redis, clock: Clock | None = None, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._rows = _Rows(client, prefix, "run")
        self._clock = clock or SystemClock()

    def load(self, repo: str, issue: int) -> Run:
        row = self._rows.read(repo, issue)
        return Run(repo, issue) if row is None else load_run(repo, *row)

    def save(self, run: Run) -> Run:
        indexes = [self._rows.index(), self._rows.index(f":{run.repo.lower()}")]
        active = {self._rows.index(":active"): run.active}
        now = self._clock.now()
        self._rows.write(run.repo, run.issue, run.revision, dump_run(run), now, indexes, active)
        return load_run(run.repo, run.revision + 1, dump_run(run))

    def runs(self) -> list[Run]:
        """Every saved run (repository names as stored: lower case)."""
        rows = self._rows.read_many(self._rows.members(self._rows.index()))
        return [load_run(slot.rpartition("#")[0], revision, data) for slot, revision, data in rows]

    def find_branch(self, repo: str, branch: str) -> int | None:
        """The issue whose run owns ``branch`` (a task's or the integration branch)."""
        slots = self._rows.members(self._rows.index(f":{repo.lower()}"))
        for slot, revision, data in self._rows.read_many(slots):
            if owns_branch(load_run(repo, revision, data), branch):
                return int(slot.rpartition("#")[2])
        return None

    def installation_load(self, installation: int | None, repo: str, issue: int) -> tuple[int, int]:
        """(plans with work under way, tasks in flight) of ``installation``'s other plans."""
        if installation is None:
            return 0, 0
        mine = _slot(repo, issue)
        active = self._rows.set_members(self._rows.index(":active"))
        slots = [slot for slot in active if slot != mine]
        others = (
            load_run(repo, revision, data) for _, revision, data in self._rows.read_many(slots)
        )
        return installation_load(others, installation)


class RedisHeads:
    """The newest head of each pull request, as accepted by any machine's gate jobs.

    A head's place is its first sighting anywhere (a counter in Redis), so a late report
    about an older head never displaces a newer one, as in :class:`bot.gate_runs.HeadRegistry`.
    """

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._prefix = prefix
        self._accept = client.register_script(_ACCEPT)
        self._newer = client.register_script(_NEWER)

    def accept(self, repo: str, number: int, head: str) -> str:
        """``head`` is the pull request's head now; returns the current head (a newer one
        another machine accepted first, or ``head``)."""
        args = [head, str(MAX_SHARED_HEADS), str(HEADS_TTL_SECONDS)]
        with _as_queue_error():
            return _text(self._accept(keys=self._keys(repo, number), args=args))

    def newer(self, repo: str, number: int, head: str) -> str | None:
        """The head that superseded ``head``, if any machine accepted a later one."""
        with _as_queue_error():
            found = self._newer(keys=self._keys(repo, number)[:2], args=[head])
        return None if found is None else _text(found)

    def _keys(self, repo: str, number: int) -> list[str]:
        slot = _slot(repo, number)
        return [
            f"{self._prefix}heads:{slot}",
            f"{self._prefix}head:{slot}",
            f"{self._prefix}heads:seq",
        ]
