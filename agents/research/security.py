"""The security specialist: notes where the work may touch sensitive code."""

from __future__ import annotations

from agents.research.base import ResearchContext
from agents.research.inventory import SourceFile
from agents.research.model import Contribution, Note, NoteKind
from agents.research.scan import Rule, Scanner, scan_files, topic
from agents.research.templates import SECURITY as TEXT

# Any of these makes every rule worth reporting on the files the work touches; rules
# that flag a risk in itself (a secret in code, shell=True, eval, unsafe loading,
# SQL built from strings, workflow injection) report whatever the issue is about.
SECURITY_WORDS = topic(
    "security vulnerability vulnerable cve cwe exploit attack attacker injection xss csrf "
    "ssrf traversal sanitize sanitise escape escaping secret credential leak unsafe malicious"
)
AUTH_WORDS = SECURITY_WORDS | topic(
    "auth authentication authenticate authorization authorisation login logout password "
    "permission token oauth jwt sso credential"
)
CRYPTO_WORDS = SECURITY_WORDS | topic(
    "crypto cryptography hash hashing cipher encrypt encryption decrypt signature sign "
    "tls ssl certificate hmac token random"
)
PAYMENT_WORDS = SECURITY_WORDS | topic(
    "payment pay billing invoice stripe paypal refund card checkout pci"
)
SHELL_WORDS = SECURITY_WORDS | topic("shell subprocess command process exec spawn")
SQL_WORDS = SECURITY_WORDS | topic("sql query database db orm")

_WORKFLOW_DIR = ".github/workflows/"
_CONFIG_SUFFIXES = (".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".env", ".conf")

RULES = (
    Rule(
        NoteKind.SECRETS,
        r"""(?i:\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|"""
        r"""passw(?:or)?d|private[_-]?key)\b["']?\s*[:=]\s*["'][^"'\s]{8,}["'])""",
        TEXT["secrets"],
        ("api_key", "api-key", "apikey", "secret", "_token", "-token", "passw", "private"),
    ),
    Rule(NoteKind.SHELL, r"\bshell\s*=\s*True\b", TEXT["shell_true"], ("shell",)),
    Rule(
        NoteKind.SHELL,
        r"\b(?:subprocess\.(?:run|call|check_call|check_output|Popen)|os\.system|os\.popen|"
        r"child_process|execSync|spawnSync|exec\.Command)\b",
        TEXT["shell"],
        (
            "subprocess",
            "os.system",
            "os.popen",
            "child_process",
            "execsync",
            "spawnsync",
            "exec.command",
        ),
        topics=SHELL_WORDS,
    ),
    Rule(NoteKind.SHELL, r"(?<![\w.])(?:eval|exec)\s*\(", TEXT["eval"], ("eval", "exec")),
    Rule(
        NoteKind.DESERIALISATION,
        r"\b(?:pickle\.loads?|cPickle|marshal\.loads?|shelve\.open|jsonpickle|"
        r"yaml\.load\((?![^)\n]*Safe)|yaml\.unsafe_load|ObjectInputStream|unserialize)\b",
        TEXT["deserialisation"],
        ("pickle", "marshal", "shelve", "yaml.", "objectinputstream", "unserialize"),
    ),
    Rule(
        NoteKind.SQL,
        r"""(?i:\b(?:execute|executemany|raw|query)\s*\(\s*(?:f["']|["'][^"'\n]*["']\s*"""
        r"""(?:%|\+|\.format)))""",
        TEXT["sql_strings"],
        ("execute", "raw", "query"),
    ),
    Rule(
        NoteKind.SQL,
        r"\b(?:SELECT\s+[\w*.,\s]+?\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b",
        TEXT["sql"],
        ("select ", "insert into", "update ", "delete from"),
        topics=SQL_WORDS,
    ),
    Rule(
        NoteKind.CRYPTO,
        r"\b(?:hashlib\.(?:md5|sha1)|md5\(|sha1\(|MODE_ECB|createCipher\()",
        TEXT["weak_crypto"],
        ("md5", "sha1", "mode_ecb", "createcipher"),
    ),
    Rule(
        NoteKind.CRYPTO,
        r"\b(?:Crypto\.Cipher|cryptography\.|crypto\.subtle|bcrypt|scrypt|argon2|hmac\.new|"
        r"jwt\.(?:encode|decode)|secrets\.token_\w+)",
        TEXT["crypto"],
        ("crypt", "argon2", "hmac.new", "jwt.", "secrets.token_"),
        topics=CRYPTO_WORDS,
    ),
    Rule(
        NoteKind.AUTH,
        r"(?i:\b(?:authenticat\w*|authori[sz]\w*|login_required|permission_required|"
        r"check_password|verify_password|is_authenticated|oauth2?|jwt|csrf)\b)",
        TEXT["auth"],
        ("authenticat", "authori", "_required", "_password", "oauth", "jwt", "csrf"),
        topics=AUTH_WORDS,
    ),
    Rule(
        NoteKind.PAYMENTS,
        r"(?i:\b(?:stripe|paypal|braintree|adyen|payment_?intent|charge_?card|refund\w*|"
        r"payments?|billing|invoice\w*)\b)",
        TEXT["payments"],
        (
            "stripe",
            "paypal",
            "braintree",
            "adyen",
            "payment",
            "charge",
            "refund",
            "billing",
            "invoice",
        ),
        topics=PAYMENT_WORDS,
    ),
    Rule(
        NoteKind.CI,
        r"\bpull_request_target\b",
        TEXT["pull_request_target"],
        ("pull_request_target",),
    ),
    Rule(
        NoteKind.CI,
        r"\$\{\{\s*github\.event\.[\w.]+\s*\}\}",
        TEXT["workflow_injection"],
        ("github.event.",),
    ),
)


class SecuritySpecialist:
    """Flags authentication, secrets, crypto, payments, SQL, shell, deserialisation, CI
    on the relevant files, as far as the issue's topic makes it worth saying."""

    name = "security"
    focused = True

    def __init__(self) -> None:
        self.scanner = Scanner(RULES)

    def run(self, context: ResearchContext) -> Contribution:
        return Contribution(security=scan_files(context, self.scanner, _scanned, _workflow_note))


def _scanned(item: SourceFile) -> bool:
    return item.language is not None or item.path.endswith(_CONFIG_SUFFIXES)


def _workflow_note(item: SourceFile) -> list[Note]:
    """A workflow file is CI configuration as a whole, whatever its lines say."""
    if item.path.startswith(_WORKFLOW_DIR):
        return [Note(NoteKind.CI, item.path, 1, TEXT["workflow"])]
    return []
