"""The delivery writer process: webhook deliveries are made durable beside serve.

``techlead serve`` answers webhooks on one event loop. Storing a delivery (parsing its
JSON, building its routing job, two SQLite inserts and the fsync of a group commit)
costs that loop's interpreter more than everything else a delivery needs, so serve
checks the headers and the signature, hands the delivery to this child process over a
Unix socket, and answers once the child says the commit holding it is durable.

Frames, both ways, are a 4-byte little-endian length and a pickle (both ends are this
package, started together):

- to the child: a list of ``(seq, delivery id, event, received at, JSON document)``,
  the deliveries the event loop checked in one of its turns;
- to serve: ``(answers, tallies, any new)`` per group commit; an answer is
  ``(seq, outcome, text)`` where ``text`` is the trace id of a stored delivery or the
  reason for a refusal; a tally is ``(event, action, outcome)`` of a stored delivery,
  for the metrics.

The child reads whatever has arrived, appends the new deliveries' rows to the intake
journal (:mod:`bot.journal`), and once one fdatasync holds them, logs them and writes
the answers of the whole batch in one frame, all on one thread. Its own child, the
loader process (:mod:`bot.intake_writer.loader`, at a lower priority), then moves the
journaled rows into SQLite, and the writer sends serve ``([], [], True)`` when new
routing jobs are there for its workers. The writer stops at the end of its socket
(serve stopped, or was killed) once its loader has loaded what it had acknowledged;
a delivery serve never answered was never acknowledged, and one acknowledged but not
loaded when the writer died is in the journal, which the next writer (or anyone
opening the store) loads first. When the writer dies, serve answers 503 to every
delivery waiting for it and to new ones, /healthz fails, and serve starts a new
writer after a short backoff (longer while it keeps dying). When the loader dies,
the writer ends, and the same happens.

- :mod:`bot.intake_writer.protocol`: the frames, outcomes and settings both ends share;
- :mod:`bot.intake_writer.serve_side`: :class:`WriterProcess`, serve's end;
- :mod:`bot.intake_writer.child`: the child process (``python -m bot.intake_writer``);
- :mod:`bot.intake_writer.loader`: the loader, the writer's child
  (``python -m bot.intake_writer loader``).
"""

from bot.intake_writer.child import (
    JournalWriter,
    Known,
    commit_items,
    journal_batch,
    main,
    prepare,
)
from bot.intake_writer.protocol import (
    HOLD_LOADS_ENV,
    JOURNAL_ENV,
    FrameBuffer,
    Outcome,
    Tally,
    frame,
    route_spec,
)
from bot.intake_writer.serve_side import WriterProcess, writer_command

__all__ = [
    "HOLD_LOADS_ENV",
    "JOURNAL_ENV",
    "FrameBuffer",
    "JournalWriter",
    "Known",
    "Outcome",
    "Tally",
    "WriterProcess",
    "commit_items",
    "frame",
    "journal_batch",
    "main",
    "prepare",
    "route_spec",
    "writer_command",
]
