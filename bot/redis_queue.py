"""The job queue on Redis: the :class:`bot.queue.JobQueue` contract for workers on many machines.

Every state change is one Lua script, so it is atomic against every other worker:

- ``{p}job:<id>`` a hash per job (the fields of :class:`bot.jobs.Job`); ``{p}dedupe`` maps
  dedupe keys to ids, so a delivery routed twice schedules once.
- ``{p}state:<state>`` an index per state (scored by id) for ``techlead jobs list``;
  ``{p}runat`` the pending jobs by ``run_at`` (the age of the oldest due job).
- ``{p}delayed`` pending jobs not yet due, by ``run_at``; ``{p}ready:<installation>:<c>``
  a FIFO list of due jobs per installation and priority class ``c`` (0 urgent, 1 normal,
  2 low); ``{p}ring:<c>`` the installations with due work of class ``c``, and
  ``{p}fresh:<c>`` those whose list of that class was empty until now.
- ``{p}leases`` running jobs by lease expiry; ``{p}owner:<owner>`` the jobs each owner holds.
- ``{p}pauses`` installation -> epoch seconds before which its jobs wait.
- ``{p}finished:done`` and ``{p}finished:dead``: finished jobs by the time they finished,
  what :meth:`RedisJobQueue.prune` reads.

Fairness, in two levels. Between priority classes: a claim serves the most urgent class
with due work, except that every fourth claim tries the normal class first and every
sixteenth the low one, so a stream of urgent jobs slows bulk work but never stops it,
and an urgent job waits for at most one other job ahead of it. Within a class:
installations take turns one job each; a claim takes the head of the ring's first
installation that is not paused and rotates it to the back. An installation that gets
due work of a class while it has none of it is fresh: fresh installations are served
first, in the order they came, so a quiet installation's first job is the next one of
its class claimed, however many jobs another installation has queued. An installation
flooding low-priority jobs therefore never delays anyone's urgent job, its own included.

Leases: a job whose lease expired (its worker was killed) goes back to the front of its
installation's list at the next claim, by any worker on any machine; its old owner can
no longer complete it. Times come from the injected clock (machines need NTP), not from
Redis, so tests drive them. All keys share the ``{techlead}`` hash tag: one slot.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import redis

from bot.context import Clock
from bot.errors import QueueError
from bot.jobs import Job, JobSpec, JobState, Priority, kind_priority
from bot.queue import MAX_ERROR_CHARS, QueueStats
from bot.store import Store, StoredDelivery

DEFAULT_PREFIX = "{techlead}:"
NO_INSTALLATION = "0"  # jobs without an installation share one turn, as in the SQLite queue
PROMOTE_BATCH = 1000  # delayed jobs made due per claim
EXPIRE_BATCH = 100  # expired leases taken back per claim
RELAY_BATCH = 500  # outbox rows moved per round trip
NORMAL_EVERY = 4  # every 4th claim tries the normal class first (urgent cannot starve it)
LOW_EVERY = 16  # every 16th claim tries the low class first
DELIVERY_TTL_SECONDS = 7 * 24 * 3600  # deliveries kept for routing (and its retries)

# Shared Lua helpers: index moves and scheduling a pending job.
_LIB = """
local p = ARGV[1]
local function jkey(id) return p .. 'job:' .. id end
local function inst_of(id)
  local inst = redis.call('HGET', jkey(id), 'installation_id')
  if not inst or inst == '' then return '0' end
  return inst
end
local function class_of(id)
  local class = redis.call('HGET', jkey(id), 'priority')
  if not class or class == '' then return '1' end
  return class
end
local function finished(state) return state == 'done' or state == 'dead' end
local function set_state(id, from, to, now)
  redis.call('ZREM', p .. 'state:' .. from, id)
  redis.call('ZADD', p .. 'state:' .. to, id, id)
  redis.call('HSET', jkey(id), 'state', to)
  if to ~= 'pending' then redis.call('ZREM', p .. 'runat', id) end
  if finished(from) then redis.call('ZREM', p .. 'finished:' .. from, id) end
  if finished(to) then redis.call('ZADD', p .. 'finished:' .. to, now, id) end
end
local function to_ring(inst, class, fresh)
  if redis.call('SADD', p .. 'inring:' .. class, inst) == 1 then
    if fresh then redis.call('RPUSH', p .. 'fresh:' .. class, inst)
    else redis.call('RPUSH', p .. 'ring:' .. class, inst) end
  end
end
local function make_ready(id, again)
  -- A job taken back from a dead worker goes first in its installation's list, but
  -- the installation waits for its turn: only a newcomer goes to the ring's front.
  local inst, class = inst_of(id), class_of(id)
  local list = p .. 'ready:' .. inst .. ':' .. class
  local was_empty = redis.call('LLEN', list) == 0
  if again then redis.call('LPUSH', list, id) else redis.call('RPUSH', list, id) end
  to_ring(inst, class, was_empty and not again)
end
local function schedule(id, run_at, now)
  redis.call('HSET', jkey(id), 'run_at', run_at)
  redis.call('ZADD', p .. 'runat', run_at, id)
  if tonumber(run_at) <= tonumber(now) then make_ready(id, false)
  else redis.call('ZADD', p .. 'delayed', run_at, id) end
end
local function drop_lease(id, owner)
  redis.call('ZREM', p .. 'leases', id)
  redis.call('SREM', p .. 'owner:' .. owner, id)
  if redis.call('SCARD', p .. 'owner:' .. owner) == 0 then
    redis.call('SREM', p .. 'owners', owner)
  end
  redis.call('HDEL', jkey(id), 'lease_owner', 'lease_expires')
end
local function holds(id, owner)
  local fields = redis.call('HMGET', jkey(id), 'state', 'lease_owner')
  return fields[1] == 'running' and fields[2] == owner
end
"""

# ARGV: prefix, now, dedupe_key, then field/value pairs of the new job; run_at is among them.
_ENQUEUE = (
    _LIB
    + """
local now, key = ARGV[2], ARGV[3]
local known = redis.call('HGET', p .. 'dedupe', key)
if known then return known end
local id = tostring(redis.call('INCR', p .. 'seq'))
redis.call('HSET', p .. 'dedupe', key, id)
local run_at = now
for i = 4, #ARGV, 2 do
  redis.call('HSET', jkey(id), ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'run_at' then run_at = ARGV[i + 1] end
end
redis.call('HSET', jkey(id), 'id', id)
local state = redis.call('HGET', jkey(id), 'state')
redis.call('ZADD', p .. 'state:' .. state, id, id)
if finished(state) then redis.call('ZADD', p .. 'finished:' .. state, now, id) end
if state == 'pending' then schedule(id, run_at, now) end
return id
"""
)

# ARGV: prefix, now, owner, lease expiry. Returns the claimed job's hash (flat) or false.
_CLAIM = (
    _LIB
    + """
local now, owner, expires = ARGV[2], ARGV[3], ARGV[4]
local expired = redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, EXPIRE_BATCH)
for _, id in ipairs(expired) do
  local old = redis.call('HGET', jkey(id), 'lease_owner') or ''
  local expiry = redis.call('HGET', jkey(id), 'lease_expires') or now
  drop_lease(id, old)
  set_state(id, 'running', 'pending', now)
  redis.call('ZADD', p .. 'runat', expiry, id)
  make_ready(id, true)
end
local due = redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now, 'LIMIT', 0, PROMOTE_BATCH)
for _, id in ipairs(due) do
  redis.call('ZREM', p .. 'delayed', id)
  make_ready(id, false)
end
local function take(inst, class)
  -- The head of one installation's list, unless it is paused; it goes to the ring's back.
  local ring = p .. 'ring:' .. class
  local paused = redis.call('HGET', p .. 'pauses', inst)
  if paused and tonumber(paused) > tonumber(now) then
    redis.call('RPUSH', ring, inst)
    return nil
  end
  local list = p .. 'ready:' .. inst .. ':' .. class
  local id = redis.call('LPOP', list)
  while id and redis.call('HGET', jkey(id), 'state') ~= 'pending' do
    id = redis.call('LPOP', list)
  end
  if redis.call('LLEN', list) > 0 then redis.call('RPUSH', ring, inst)
  else redis.call('SREM', p .. 'inring:' .. class, inst) end
  return id
end
local function take_class(class)
  for _, queue in ipairs({'fresh:', 'ring:'}) do
    local turns = redis.call('LLEN', p .. queue .. class)
    for _ = 1, turns do
      local id = take(redis.call('LPOP', p .. queue .. class), class)
      if id then return id end
    end
  end
  return nil
end
local tick = redis.call('INCR', p .. 'tick')
local order = {'0', '1', '2'}
if tick % LOW_EVERY == 0 then order = {'2', '0', '1'}
elseif tick % NORMAL_EVERY == 0 then order = {'1', '0', '2'} end
local id = nil
for _, class in ipairs(order) do
  id = take_class(class)
  if id then break end
end
if not id then return false end
set_state(id, 'pending', 'running', now)
redis.call('HINCRBY', jkey(id), 'attempts', 1)
redis.call('HSET', jkey(id), 'lease_owner', owner, 'lease_expires', expires, 'updated_at', now)
redis.call('ZADD', p .. 'leases', expires, id)
redis.call('SADD', p .. 'owner:' .. owner, id)
redis.call('SADD', p .. 'owners', owner)
return redis.call('HGETALL', jkey(id))
""".replace("EXPIRE_BATCH", str(EXPIRE_BATCH))
    .replace("PROMOTE_BATCH", str(PROMOTE_BATCH))
    .replace("LOW_EVERY", str(LOW_EVERY))
    .replace("NORMAL_EVERY", str(NORMAL_EVERY))
)

# ARGV: prefix, now, id, owner, target state, run_at ('' = now), refund ('1'/'0'),
# error ('' keeps the last one), set_error ('1'/'0'). Returns 1 if the owner held the lease.
_TRANSITION = (
    _LIB
    + """
local now, id, owner, target = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not holds(id, owner) then return 0 end
drop_lease(id, owner)
if ARGV[7] == '1' then
  local attempts = tonumber(redis.call('HGET', jkey(id), 'attempts'))
  redis.call('HSET', jkey(id), 'attempts', math.max(attempts - 1, 0))
end
if ARGV[9] == '1' then redis.call('HSET', jkey(id), 'last_error', ARGV[8]) end
redis.call('HSET', jkey(id), 'updated_at', now)
set_state(id, 'running', target, now)
if target == 'pending' then
  local run_at = ARGV[6]
  if run_at == '' then run_at = now end
  schedule(id, run_at, now)
end
return 1
"""
)

# ARGV: prefix, now, lease expiry, owner. Returns how many leases were pushed back.
_EXTEND = (
    _LIB
    + """
local now, expires, owner = ARGV[2], ARGV[3], ARGV[4]
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', p .. 'owner:' .. owner)) do
  if holds(id, owner) then
    redis.call('HSET', jkey(id), 'lease_expires', expires, 'updated_at', now)
    redis.call('ZADD', p .. 'leases', 'XX', expires, id)
    count = count + 1
  end
end
return count
"""
)

# ARGV: prefix, now, owner, due. Every job the owner runs is pending again (its attempt
# counts), due at ``due``.
_RELEASE_OWNER = (
    _LIB
    + """
local now, owner, due = ARGV[2], ARGV[3], ARGV[4]
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', p .. 'owner:' .. owner)) do
  if holds(id, owner) then
    drop_lease(id, owner)
    redis.call('HSET', jkey(id), 'updated_at', now)
    set_state(id, 'running', 'pending', now)
    schedule(id, due, now)
    count = count + 1
  end
end
redis.call('DEL', p .. 'owner:' .. owner)
redis.call('SREM', p .. 'owners', owner)
return count
"""
)

# ARGV: prefix, now, id. Returns the old state ('' = no such job); pending again if dead.
_RETRY = (
    _LIB
    + """
local now, id = ARGV[2], ARGV[3]
local state = redis.call('HGET', jkey(id), 'state')
if not state then return '' end
if state ~= 'dead' then return state end
redis.call('HSET', jkey(id), 'attempts', 0, 'updated_at', now)
set_state(id, 'dead', 'pending', now)
schedule(id, now, now)
return state
"""
)

# ARGV: prefix, done_before, dead_before, limit. Deletes finished jobs and their dedupe
# keys (the key may already name a newer job: then it stays). Returns how many went.
_PRUNE = (
    _LIB
    + """
local limit, count = tonumber(ARGV[4]), 0
for _, state in ipairs({'done', 'dead'}) do
  local before = state == 'done' and ARGV[2] or ARGV[3]
  local index = p .. 'finished:' .. state
  local ids = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. before, 'LIMIT', 0, limit - count)
  for _, id in ipairs(ids) do
    local key = redis.call('HGET', jkey(id), 'dedupe_key')
    if key and redis.call('HGET', p .. 'dedupe', key) == id then
      redis.call('HDEL', p .. 'dedupe', key)
    end
    redis.call('DEL', jkey(id))
    redis.call('ZREM', p .. 'state:' .. state, id)
    redis.call('ZREM', index, id)
    count = count + 1
  end
  if count >= limit then break end
end
return count
"""
)

# ARGV: prefix, now. Brings data from before priority classes and pruning up to date:
# the one ring of installations and their lists become the normal class's, and finished
# jobs enter the index pruning reads (by their last update). Idempotent; cheap once done.
_UPGRADE = (
    _LIB
    + """
local now, moved = ARGV[2], 0
for _, queue in ipairs({'fresh', 'ring'}) do
  local inst = redis.call('LPOP', p .. queue)
  while inst do
    local list = p .. 'ready:' .. inst
    local id = redis.call('LPOP', list)
    while id do
      if redis.call('HGET', jkey(id), 'state') == 'pending' then
        make_ready(id, false)
        moved = moved + 1
      end
      id = redis.call('LPOP', list)
    end
    inst = redis.call('LPOP', p .. queue)
  end
end
redis.call('DEL', p .. 'inring')
for _, state in ipairs({'done', 'dead'}) do
  local index = p .. 'finished:' .. state
  if redis.call('EXISTS', index) == 0 then
    for _, id in ipairs(redis.call('ZRANGE', p .. 'state:' .. state, 0, -1)) do
      redis.call('ZADD', index, redis.call('HGET', jkey(id), 'updated_at') or now, id)
    end
  end
end
return moved
"""
)

# ARGV: prefix, installation, until. A pause only ever grows.
_PAUSE = """
local p, inst, stop = ARGV[1], ARGV[2], ARGV[3]
local known = redis.call('HGET', p .. 'pauses', inst)
if not known or tonumber(stop) > tonumber(known) then
  redis.call('HSET', p .. 'pauses', inst, stop)
end
return 1
"""

_INTEGER_FIELDS = ("parent_id", "installation_id")
_FLOAT_FIELDS = ("lease_expires",)
_TEXT_FIELDS = ("delivery_id", "lease_owner", "last_error")


class RedisJobQueue:
    """:class:`bot.queue.JobQueue` on Redis, for workers on several machines."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._new_id = new_id
        self._prefix = prefix
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("enqueue", _ENQUEUE),
                ("claim", _CLAIM),
                ("transition", _TRANSITION),
                ("extend", _EXTEND),
                ("release_owner", _RELEASE_OWNER),
                ("retry", _RETRY),
                ("pause", _PAUSE),
                ("prune", _PRUNE),
                ("upgrade", _UPGRADE),
            )
        }
        self._upgraded = False

    @classmethod
    def from_url(
        cls,
        url: str,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        prefix: str = DEFAULT_PREFIX,
    ) -> RedisJobQueue:
        return cls(redis.Redis.from_url(url), clock, new_id, prefix)

    @property
    def client(self) -> redis.Redis:
        return self._redis

    @property
    def prefix(self) -> str:
        return self._prefix

    def close(self) -> None:
        self._redis.close()

    def ping(self) -> None:
        with _as_queue_error():
            self._redis.ping()

    # -- JobQueue ----------------------------------------------------------------

    def enqueue(self, spec: JobSpec) -> Job:
        return self._require(self._insert(spec, JobState.PENDING, {}))

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[int]:
        """Schedule several jobs in one round trip (the delivery relay); returns their ids."""
        now = self._clock.now()
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for spec in specs:
                self._run("enqueue", self._enqueue_args(spec, JobState.PENDING, {}, now), pipe)
            return [int(value) for value in pipe.execute()]

    def adopt(self, job: Job) -> Job:
        """Take over a job from another queue: its state, attempts, error and times.

        A running job comes over pending (its lease belongs to the other queue); the
        job gets a new id; its dedupe key keeps it once however often it is adopted.
        """
        return self._require(self.adopt_many([job])[0])

    def adopt_many(self, jobs: Sequence[Job]) -> list[int]:
        """:meth:`adopt` for several jobs in one round trip; returns their ids here."""
        now = self._clock.now()
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for job in jobs:
                state, spec, extra = _adopted(job)
                self._run("enqueue", self._enqueue_args(spec, state, extra, now), pipe)
            return [int(value) for value in pipe.execute()]

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        self._upgrade()
        now = self._clock.now()
        claimed = self._call("claim", repr(now), owner, repr(now + lease_seconds))
        return (
            job_from_hash(dict(zip(claimed[::2], claimed[1::2], strict=True))) if claimed else None
        )

    def extend(self, owner: str, lease_seconds: float) -> int:
        now = self._clock.now()
        return int(self._call("extend", repr(now), repr(now + lease_seconds), owner))

    def complete(self, job_id: int, owner: str) -> bool:
        return self._transition(job_id, owner, JobState.DONE)

    def fail(
        self, job_id: int, owner: str, error: str, retry_at: float | None, *, refund: bool = False
    ) -> bool:
        target = JobState.DEAD if retry_at is None else JobState.PENDING
        return self._transition(
            job_id, owner, target, run_at=retry_at, refund=refund, error=error[-MAX_ERROR_CHARS:]
        )

    def release(
        self, job_id: int, owner: str, run_at: float | None = None, *, refund: bool = True
    ) -> bool:
        return self._transition(job_id, owner, JobState.PENDING, run_at=run_at, refund=refund)

    def release_owners(self, is_dead: Callable[[str], bool], due_in: float = 0.0) -> int:
        with _as_queue_error():
            owners = [_text(raw) for raw in self._redis.smembers(self._key("owners"))]
        now = self._clock.now()
        due = repr(now + due_in)
        return sum(
            int(self._call("release_owner", repr(now), owner, due))
            for owner in owners
            if is_dead(owner)
        )

    def pause_installation(self, installation_id: int, until: float) -> None:
        self._call("pause", str(installation_id), repr(until))

    def paused_until(self, installation_id: int) -> float | None:
        with _as_queue_error():
            raw = self._redis.hget(self._key("pauses"), str(installation_id))
        return None if raw is None else float(raw)

    def get(self, job_id: int) -> Job | None:
        with _as_queue_error():
            fields = self._redis.hgetall(self._key(f"job:{job_id}"))
        return job_from_hash(fields) if fields else None

    def list(self, states: Collection[JobState] = (), limit: int = 100) -> list[Job]:
        wanted = list(states) or list(JobState)
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for state in wanted:
                pipe.zrevrange(self._key(f"state:{state.value}"), 0, limit - 1)
            ids = sorted({int(raw) for found in pipe.execute() for raw in found}, reverse=True)
            pipe = self._redis.pipeline(transaction=False)
            for job_id in ids[:limit]:
                pipe.hgetall(self._key(f"job:{job_id}"))
            hashes = pipe.execute()
        return [job_from_hash(fields) for fields in reversed(hashes) if fields]

    def retry(self, job_id: int) -> Job:
        old = _text(self._call("retry", repr(self._clock.now()), str(job_id)))
        if not old:
            raise QueueError(f"no job with id {job_id}")
        if old != JobState.DEAD.value:
            raise QueueError(f"job {job_id} is {old}; only dead jobs can be retried")
        return self._require(job_id)

    def prune(self, done_before: float, dead_before: float, limit: int) -> int:
        self._upgrade()
        return int(self._call("prune", repr(done_before), repr(dead_before), str(limit)))

    def stats(self) -> QueueStats:
        now = self._clock.now()
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for state in JobState:
                pipe.zcard(self._key(f"state:{state.value}"))
            pipe.zrangebyscore(self._key("runat"), "-inf", repr(now), 0, 1, withscores=True)
            *counts, oldest = pipe.execute()
        by_state = {state: int(count) for state, count in zip(JobState, counts, strict=True)}
        age = max(now - float(oldest[0][1]), 0.0) if oldest else 0.0
        return QueueStats(by_state, age)

    # -- internals ---------------------------------------------------------------

    def _upgrade(self) -> None:
        """Once per queue object: bring keys written by an older TechLead up to date."""
        if not self._upgraded:
            self._call("upgrade", repr(self._clock.now()))
            self._upgraded = True

    def _insert(self, spec: JobSpec, state: JobState, extra: dict[str, str]) -> int:
        now = self._clock.now()
        return int(self._call("enqueue", *self._enqueue_args(spec, state, extra, now)[1:]))

    def _enqueue_args(
        self, spec: JobSpec, state: JobState, extra: dict[str, str], now: float
    ) -> Sequence[str]:
        trace_id = spec.trace_id or self._new_id()
        spec = replace(
            spec, trace_id=trace_id, dedupe_key=spec.dedupe_key or f"{spec.kind}:{trace_id}"
        )
        fields = {**_job_fields(spec, state, now), **extra}
        flat = [value for pair in fields.items() for value in pair]
        return [self._prefix, repr(now), spec.dedupe_key or "", *flat]

    def _transition(
        self,
        job_id: int,
        owner: str,
        target: JobState,
        *,
        run_at: float | None = None,
        refund: bool = False,
        error: str | None = None,
    ) -> bool:
        args = (
            repr(self._clock.now()),
            str(job_id),
            owner,
            target.value,
            "" if run_at is None else repr(run_at),
            "1" if refund else "0",
            error or "",
            "0" if error is None else "1",
        )
        return int(self._call("transition", *args)) == 1

    def _call(self, script: str, *args: str) -> Any:
        with _as_queue_error():
            return self._scripts[script](args=[self._prefix, *args])

    def _run(self, script: str, args: Sequence[str], pipe: Any) -> None:
        self._scripts[script](args=args, client=pipe)

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _require(self, job_id: int) -> Job:
        job = self.get(job_id)
        if job is None:
            raise QueueError(f"job {job_id} vanished")
        return job


def _adopted(job: Job) -> tuple[JobState, JobSpec, dict[str, str]]:
    state = JobState.PENDING if job.state is JobState.RUNNING else job.state
    spec = JobSpec(
        job.kind,
        job.payload,
        dedupe_key=job.dedupe_key,
        installation_id=job.installation_id,
        delivery_id=job.delivery_id,
        trace_id=job.trace_id,
        parent_id=job.parent_id,
        priority=job.priority,
    )
    extra = {
        "attempts": str(job.attempts),
        "run_at": repr(job.run_at),
        "created_at": repr(job.created_at),
        "last_error": job.last_error or "",
    }
    return state, spec, extra


def _job_fields(spec: JobSpec, state: JobState, now: float) -> dict[str, str]:
    if not spec.dedupe_key or not spec.trace_id:
        raise QueueError(f"job {spec.kind!r} needs a dedupe key and a trace id")
    try:
        payload = json.dumps(dict(spec.payload), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise QueueError(f"payload of job {spec.kind!r} is not JSON: {exc}") from exc
    return {
        "kind": spec.kind,
        "payload": payload,
        "dedupe_key": spec.dedupe_key,
        "state": state.value,
        "attempts": "0",
        "run_at": repr(now + spec.delay),
        "trace_id": spec.trace_id,
        "delivery_id": spec.delivery_id or "",
        "parent_id": "" if spec.parent_id is None else str(spec.parent_id),
        "installation_id": "" if spec.installation_id is None else str(spec.installation_id),
        "created_at": repr(now),
        "updated_at": repr(now),
        "priority": str(int(spec.effective_priority)),
    }


class RedisDeliveries:
    """The deliveries routing reads, in Redis: a worker on any machine can route any of them.

    The SQLite store of the intake stays the record of what was acknowledged; the relay
    copies each delivery here before its routing job, and they expire after ``ttl``.
    """

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX, ttl: float = 0) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = int(ttl) or DELIVERY_TTL_SECONDS

    def put_many(self, deliveries: Sequence[StoredDelivery]) -> None:
        with _as_queue_error():
            pipe = self._redis.pipeline(transaction=False)
            for delivery in deliveries:
                key = self._key(delivery.delivery_id)
                pipe.hset(key, mapping=_delivery_fields(delivery))
                pipe.expire(key, self._ttl)
            pipe.execute()

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None:
        with _as_queue_error():
            raw = self._redis.hgetall(self._key(delivery_id))
        if not raw:
            return None
        fields = {_text(key): value for key, value in raw.items()}
        routed = _text(fields.get("routed_at", b""))
        return StoredDelivery(
            delivery_id=delivery_id,
            event=_text(fields["event"]),
            body=_bytes(fields["body"]),
            trace_id=_text(fields["trace_id"]),
            received_at=float(fields["received_at"]),
            outcome=_text(fields.get("outcome", b"")) or None,
            routed_at=float(routed) if routed else None,
        )

    def mark_routed(self, delivery_id: str, outcome: str, now: float) -> None:
        with _as_queue_error():
            self._redis.hset(
                self._key(delivery_id), mapping={"outcome": outcome, "routed_at": repr(now)}
            )

    def _key(self, delivery_id: str) -> str:
        return f"{self._prefix}delivery:{delivery_id}"


class DeliveryRelay:
    """Moves the store's outbox (routing jobs committed with their deliveries) to Redis.

    Idempotent: the dedupe key of a routing job is its delivery id, so a row moved twice
    (a crash between the push and the delete) schedules once. It runs after every group
    commit, before the answers, and once at start-up for rows a crash left behind; any
    pending job left in the SQLite queue moves the same way.
    """

    def __init__(self, store: Store, queue: RedisJobQueue, deliveries: RedisDeliveries) -> None:
        self._store = store
        self._queue = queue
        self._deliveries = deliveries
        self._lock = threading.Lock()

    def sweep(self) -> int:
        """Move every outbox row; returns how many jobs moved."""
        moved = 0
        with self._lock:
            while batch := self._store.outbox(RELAY_BATCH):
                self._deliveries.put_many([one for _, one in batch if one is not None])
                # The store's rows carry no priority: its outbox holds routing jobs.
                jobs = [replace(job, priority=kind_priority(job.kind)) for job, _ in batch]
                self._queue.adopt_many(jobs)
                self._store.drop_jobs([job.id for job, _ in batch])
                moved += len(batch)
        return moved


def _delivery_fields(delivery: StoredDelivery) -> dict[Any, Any]:
    return {
        "event": delivery.event,
        "body": delivery.body,
        "trace_id": delivery.trace_id,
        "received_at": repr(delivery.received_at),
    }


def job_from_hash(raw: dict[Any, Any]) -> Job:
    """A :class:`Job` from the hash a script stored (bytes keys and values)."""
    fields = {_text(key): _text(value) for key, value in raw.items()}
    optional: dict[str, Any] = {}
    for name in _INTEGER_FIELDS:
        optional[name] = int(fields[name]) if fields.get(name) else None
    for name in _FLOAT_FIELDS:
        optional[name] = float(fields[name]) if fields.get(name) else None
    for name in _TEXT_FIELDS:
        optional[name] = fields.get(name) or None
    return Job(
        id=int(fields["id"]),
        kind=fields["kind"],
        payload=json.loads(fields["payload"]),
        dedupe_key=fields["dedupe_key"],
        state=JobState(fields["state"]),
        attempts=int(fields["attempts"]),
        run_at=float(fields["run_at"]),
        trace_id=fields["trace_id"],
        created_at=float(fields["created_at"]),
        updated_at=float(fields["updated_at"]),
        priority=Priority(int(fields.get("priority") or Priority.NORMAL)),
        **optional,
    )


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def _as_queue_error() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise QueueError(f"redis failed: {exc}") from exc
