"""The performance specialist: notes on hot paths, queries and I/O inside loops."""

from __future__ import annotations

from agents.research.base import ResearchContext
from agents.research.inventory import SourceFile
from agents.research.model import Contribution, NoteKind
from agents.research.scan import Rule, Scanner, scan_files
from agents.research.templates import PERFORMANCE as TEXT

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
    ),
    Rule(
        None,
        r"\b(?:time\.sleep|sleep|Thread\.sleep)\(",
        "",
        ("sleep(",),
        NoteKind.HOT_PATH,
        TEXT["sleep"],
    ),
    Rule(
        None,
        r"^[ \t]+(?:for|while)\b",
        "",
        ("for ", "while "),
        NoteKind.HOT_PATH,
        TEXT["nested_loop"],
    ),
    Rule(
        NoteKind.HOT_PATH,
        r"@(?:functools\.)?(?:lru_cache|cache)\b",
        TEXT["cached"],
        ("lru_cache", "@cache", "functools.cache"),
    ),
)  # fmt: skip


class PerformanceSpecialist:
    """Flags database queries, N+1 patterns, I/O and sleeps inside loops, nested loops."""

    name = "performance"

    def __init__(self) -> None:
        self.scanner = Scanner(RULES)

    def run(self, context: ResearchContext) -> Contribution:
        return Contribution(performance=scan_files(context, self.scanner, _is_code))


def _is_code(item: SourceFile) -> bool:
    return item.language is not None
