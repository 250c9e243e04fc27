"""The performance specialist: notes on hot paths, queries and I/O inside loops."""

from __future__ import annotations

from agents.research.base import ResearchContext
from agents.research.inventory import SourceFile
from agents.research.model import Contribution, NoteKind
from agents.research.scan import Rule, Scanner, scan_files, topic
from agents.research.templates import PERFORMANCE as TEXT

# Performance notes are said only when the issue is about speed, memory or load.
PERFORMANCE_WORDS = topic(
    "performance perf slow slower slowly slowness slowdown fast faster speed speedup latency "
    "throughput memory leak cpu benchmark bottleneck hot quadratic exponential optimize "
    "optimise optimization optimisation efficient inefficient expensive hang hangs timeout "
    "scalability scale profiling profile regression"
)
DATABASE_WORDS = PERFORMANCE_WORDS | topic("query queries database db orm sql n+1")

RULES = (
    Rule(
        NoteKind.DB_QUERY,
        r"\.(?:objects\.(?:filter|get|all|exclude)|query|execute|executemany|find_one|"
        r"find_all|findOne|findAll|findMany|aggregate|raw)\(",
        TEXT["query"],
        (".objects.", ".query(", ".execute", ".find_", ".findone", ".findall", ".findmany",
         ".aggregate(", ".raw("),
        NoteKind.N_PLUS_ONE,
        TEXT["n_plus_one"],
        topics=DATABASE_WORDS,
    ),
    Rule(
        None,
        r"\b(?:requests\.(?:get|post|put|delete|patch|head)|httpx\.(?:get|post|put|delete|patch)|"
        r"urlopen|fetch|axios\.\w+|http\.Get|open|read_text|read_bytes|os\.stat)\(",
        "",
        ("requests.", "httpx.", "urlopen(", "fetch(", "axios.", "http.get(", "open(",
         "read_text(", "read_bytes(", "os.stat("),
        NoteKind.IO_IN_LOOP,
        TEXT["io_in_loop"],
        topics=PERFORMANCE_WORDS,
    ),
    Rule(
        None,
        r"\b(?:time\.sleep|sleep|Thread\.sleep)\(",
        "",
        ("sleep(",),
        NoteKind.HOT_PATH,
        TEXT["sleep"],
        topics=PERFORMANCE_WORDS,
    ),
    Rule(
        None,
        r"^[ \t]+(?:for|while)\b",
        "",
        ("for ", "while "),
        NoteKind.HOT_PATH,
        TEXT["nested_loop"],
        topics=PERFORMANCE_WORDS,
    ),
    Rule(
        NoteKind.HOT_PATH,
        r"@(?:functools\.)?(?:lru_cache|cache)\b",
        TEXT["cached"],
        ("lru_cache", "@cache", "functools.cache"),
        topics=PERFORMANCE_WORDS,
    ),
)  # fmt: skip


class PerformanceSpecialist:
    """Flags database queries, N+1 patterns, I/O and sleeps inside loops, nested loops."""

    name = "performance"
    focused = True

    def __init__(self) -> None:
        self.scanner = Scanner(RULES)

    def run(self, context: ResearchContext) -> Contribution:
        return Contribution(performance=scan_files(context, self.scanner, _is_code))


def _is_code(item: SourceFile) -> bool:
    return item.language is not None
