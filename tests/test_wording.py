"""Every sentence a person reads comes from the message catalogue (veilleur/core/i18n.py): a scan of the code that
talks to people for words written in it instead.

What it reads: the modules that build what Slack shows and what the command line prints (handlers/, veilleur/slack,
watching, digest, escalation, assist, privacy, and bot.py). Where it looks, the places that reach people:
- what is said: `print`, `sys.stdout/stderr.write`, Bolt's `say`/`respond`/`ack`, the Web API's `chat_postMessage`,
  `chat_postEphemeral`, `chat_update`, `views_*`, and the handlers' own helpers that pass text on (`ephemeral`,
  `tell_privately`, `tell`, `reply`, `answer`);
- Block Kit text: the text builders (`mrkdwn`, `markup`, `plain_text`) and, in a dict literal, the values of the
  keys that hold text (`text`, `title`, `label`, `hint`, `placeholder`, `alt_text`, `initial_comment`);
- the errors that reach people: `WatcherFieldError`, `SourceError`, `UnsafeUrlError`, `LLMUnavailable`'s detail.
A name said there is followed to what the function assigned to it or put in it (`lines.append(…)`); what a function
returns as text (an f-string, or anything from a function declared `-> str`) counts as said, so text builders such as
`escalation_status` are read; a function that passes one of its parameters on to such a place makes that parameter
a place wherever the function is called (functions are known by name across the modules read); and the text given
to the catalogue (`t(key, lang, name=…)`) or to `escape`, `truncate`, `join` and the like is said too. What is given
to any other call is not: that call makes its own result.

What it flags: a string literal (or the literal part of an f-string) with a word in it, or with a mark French
typography spaces (`: ; ! ? %`), once emoji codes (`:warning:`), Slack markup (`<@U1>`), HTML entities, URLs and
catalogue keys (`watch.usage`, `f"digest.reason.{x}"`) are set aside. Separators and notation (` · `, `• `, `*`,
`---`, a lone `?`) pass, and so does a lone lowercase identifier where a name may stand ("posted", returned).

Its limits: a sentence kept in a module-level constant, handed through a function of another module by a name
several functions share, or built in a module it does not read, is not seen; a function known by name alone may
be mistaken for another of the same name. NOT_SAID lists the functions whose text is not for people (the LLM's
prompts, a log line, a regular expression, the watchers file's syntax) and ALLOWED the few literals that stay
English on purpose.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = sorted(
    [*ROOT.glob("handlers/*.py"), ROOT / "bot.py"]
    + [path for area in ("slack", "watching", "digest", "escalation", "assist", "privacy")
       for path in (ROOT / "veilleur" / area).glob("*.py")]
)
SAYING = frozenset({
    "print", "write", "say", "respond", "ack", "chat_postMessage", "chat_postEphemeral", "chat_update", "views_open",
    "views_update", "views_publish", "views_push", "ephemeral", "tell_privately", "tell", "reply", "answer",
})
TEXT_BUILDERS = frozenset({"mrkdwn", "markup", "plain_text"})
ERRORS = frozenset({"WatcherFieldError", "SourceError", "UnsafeUrlError", "LLMUnavailable"})
TEXT_KEYS = frozenset({"text", "title", "label", "hint", "placeholder", "alt_text", "initial_comment"})
# Arguments of the calls above that are not text: ids, flags, where a message goes.
NOT_TEXT = frozenset({
    "channel", "ts", "thread_ts", "user", "user_id", "view_id", "trigger_id", "response_type", "replace_original",
    "delete_original", "unfurl_links", "unfurl_media", "file", "response_action", "status", "retry_after", "code",
    "limit", "hash", "external_id", "blocks_limit",
})
# Calls whose first argument is a catalogue key.
KEYED = frozenset({"t", "t_plural", "of", "UserError", "problem_message"})
# Calls that hand their text on, escaped, cut or joined: what goes in is said.
PASSING_ON = frozenset({"escape", "truncate", "cut_markup", "one_line", "clean", "_clean", "link", "phrase_line",
                        "join", "format", "strip", "replace"})
ALLOWED = {
    # BOT_LANGUAGE may be the very setting that could not be read: the line names it, in English.
    ("bot.py", "veilleur: configuration error: "),
    # A status code, in parentheses after the translated reason ("le LLM a échoué (HTTP 503)").
    ("veilleur/assist/llm.py", "HTTP "),
}
# Functions whose text is not for people: what the LLM reads (a prompt's lines, the digest's facts: English on
# purpose, the model answers in the language it is asked for), a start-up log line, a regular expression, the
# watchers file's own syntax.
NOT_SAID = {
    ("veilleur/assist/summarize.py", "message_line"),
    ("veilleur/assist/summarize.py", "figures_text"),
    ("veilleur/assist/summarize.py", "_combine"),
    ("veilleur/assist/drafting.py", "draft_data"),
    ("veilleur/assist/drafting.py", "message_line"),
    ("veilleur/assist/pseudonyms.py", "reach"),
    ("veilleur/watching/spikes.py", "prompt_line"),
    ("veilleur/assist/labelling.py", "batch"),
    ("veilleur/assist/labelling.py", "subject_line"),
    *(("veilleur/digest/narrative.py", name) for name in (
        "facts_text", "_volume_fact", "_change_fact", "_theme_fact", "_mention_fact", "_escalation_fact",
        "_failure_fact", "_listing", "_claim_fact",
    )),
    ("veilleur/assist/llm.py", "llm_destination"),
    ("veilleur/assist/pseudonyms.py", "_branches"),
    ("veilleur/privacy/reports.py", "author_table"),
}
# Names that are the same in every language.
PROPER_NOUNS = frozenset({"Slack"})

_SET_ASIDE = re.compile(
    r":[a-z0-9_+-]+:"  # emoji codes
    r"|<[^<>]*>|<[!@#][^<>\s]*"  # Slack markup, or its start
    r"|&[a-z]+;"  # HTML entities (escaping)
    r"|https?://\S*"  # URLs
    r"|\b[a-z_]+(?:\.[a-z0-9_]+)+\.?"  # catalogue keys, whole or their start
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_TYPOGRAPHY = re.compile(r"[:;!?](?:\s|$)|%")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_-]*")
# The start of an identifier built in an f-string: "poll:{name}", "mention:{id}", "trial_{index}".
_ID_PREFIX = re.compile(r"[a-z][a-z0-9_]*[:_.-]")


def is_language(text: str) -> bool:
    rest = _SET_ASIDE.sub(" ", text)
    if text in ("?", ":", "::") or text in PROPER_NOUNS or _ID_PREFIX.fullmatch(text):
        return False  # "?" for a name that is not known; ":" between the parts of an id
    return bool(_WORD.search(rest) or _TYPOGRAPHY.search(rest))


def call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


class Scan:
    """The literals said to people in some modules, each as (module, line, text).

    A function that passes one of its parameters on to a place that reaches people (`_add_list(blocks, heading,
    items)` putting `items` in a `markup`, `trial_problem(text)`) makes that parameter such a place wherever it is
    called, in any of the modules: functions are known by name."""

    def __init__(self, modules: dict[str, ast.Module], skipped: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.found: set[tuple[str, int, str]] = set()
        self.speaking: dict[str, set[str]] = {}  # function name → its parameters that reach people
        self._assigned: dict[str, list[ast.expr]] = {}
        self._parameters: list[str] = []
        self._function = self._module = ""
        functions = {where: [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
                     for where, tree in modules.items()}
        self._signatures = {f.name: [a.arg for a in (*f.args.posonlyargs, *f.args.args) if a.arg not in ("self", "cls")]
                            for found in functions.values() for f in found}
        known = -1
        while known != sum(map(len, self.speaking.values())):  # until no parameter is found to reach people
            known = sum(map(len, self.speaking.values()))
            for where, tree in modules.items():
                self._module = where
                for function in [tree, *(f for f in functions[where] if (where, f.name) not in skipped)]:
                    self._read(function)

    def _read(self, function: ast.AST) -> None:
        self._assigned = _assignments(function)
        self._function = getattr(function, "name", "")
        self._parameters = self._signatures.get(self._function, [])
        for call in _own_nodes(function, ast.Call):
            self._place(call)
        for dictionary in _own_nodes(function, ast.Dict):
            for key, value in zip(dictionary.keys, dictionary.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in TEXT_KEYS:
                    self._said(value, set())
        returns_text = isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and _returns_str(function)
        for returned in _own_nodes(function, ast.Return):
            if returned.value is not None and (returns_text or isinstance(returned.value, ast.JoinedStr)):
                # A function returning text may return a name ("posted", "utf-8") as well as a sentence.
                self._said(returned.value, set(), loose=True)

    def _place(self, call: ast.Call) -> None:
        name = call_name(call)
        if name == "say" and not isinstance(call.func, ast.Name):
            return  # Bolt's `say` is a listener's argument; `phrase.say(lang)` says a catalogue phrase
        if name in SAYING:
            said = [*call.args, *(kw.value for kw in call.keywords if kw.arg not in NOT_TEXT)]
        elif name in TEXT_BUILDERS:
            said = call.args[:1]
        elif name in ERRORS:
            said = call.args[1:] if name in ("WatcherFieldError", "LLMUnavailable") else call.args[:1]
        elif name in self.speaking:
            speaking, parameters = self.speaking[name], self._signatures[name]
            said = [arg for arg, parameter in zip(call.args, parameters, strict=False) if parameter in speaking]
            said += [kw.value for kw in call.keywords if kw.arg in speaking]
        else:
            return
        for argument in said:
            self._said(argument, set())

    def _said(self, node: ast.expr, followed: set[str], *, loose: bool = False) -> None:
        """Flag the language in `node`, said to people. `loose`: maybe a name rather than text (what a function
        returns, what a loop goes over); a lone identifier there is a name ("posted", "fetched"), not a word."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if is_language(node.value) and not (loose and _IDENTIFIER.fullmatch(node.value)):
                self.found.add((self._module, node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                self._said(part.value if isinstance(part, ast.FormattedValue) else part, followed)
        elif isinstance(node, ast.Name):
            if node.id in self._parameters:
                self.speaking.setdefault(self._function, set()).add(node.id)
            if node.id not in followed:
                for value in self._assigned.get(node.id, []):
                    self._said(value, followed | {node.id}, loose=loose)
        elif isinstance(node, ast.Call):
            self._said_call(node, followed, loose)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value in TEXT_KEYS) or isinstance(value, ast.Dict | ast.List):
                    self._said(value, followed)
        elif isinstance(node, ast.IfExp):
            self._said(node.body, followed, loose=loose)  # its test is not said
            self._said(node.orelse, followed, loose=loose)
        elif isinstance(node, ast.ListComp | ast.GeneratorExp):
            self._said(node.elt, followed, loose=loose)
            for generator in node.generators:
                self._said(generator.iter, followed, loose=True)
        elif isinstance(node, ast.BinOp | ast.BoolOp | ast.List | ast.Tuple | ast.Starred | ast.Subscript
                        | ast.UnaryOp):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr) and not (isinstance(node, ast.Subscript) and child is node.slice):
                    self._said(child, followed, loose=loose)

    def _said_call(self, call: ast.Call, followed: set[str], loose: bool) -> None:
        """What a call said to people hands on: a catalogue call its parameters, `escape`, `join` and the like
        their text; any other call makes its own result (a place of its own is scanned as such)."""
        name = call_name(call)
        if name in KEYED:
            for keyword in call.keywords:
                self._said(keyword.value, followed, loose=loose)
        elif name in PASSING_ON:
            for argument in [*call.args, *(kw.value for kw in call.keywords if kw.arg not in NOT_TEXT)]:
                self._said(argument, followed, loose=loose)
            if isinstance(call.func, ast.Attribute):  # " · ".join(...), f"…".format(...)
                self._said(call.func.value, followed, loose=loose)


def _returns_str(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    returns = function.returns
    return (isinstance(returns, ast.Name) and returns.id == "str") or (isinstance(returns, ast.Constant) and \
        returns.value == "str")


def _own_nodes(function: ast.AST, kind: type[ast.AST]) -> Iterator:
    """The nodes of `kind` in `function`'s body, not in the functions it defines."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, kind):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _assignments(function: ast.AST) -> dict[str, list[ast.expr]]:
    """What each name of `function` is given: assignments, and what goes into a list (`lines.append(…)`)."""
    assigned: dict[str, list[ast.expr]] = {}
    for call in _own_nodes(function, ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("append", "extend", "insert") and \
                isinstance(func.value, ast.Name) and call.args:
            assigned.setdefault(func.value.id, []).append(call.args[-1])
    for node in _own_nodes(function, ast.stmt):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name):
                assigned.setdefault(target.id, []).append(value)
    return assigned


def literals_said_to_people(paths: list[Path]) -> list[str]:
    modules = {str(path.relative_to(ROOT)): ast.parse(path.read_text(), str(path)) for path in paths}
    scan = Scan(modules, frozenset(NOT_SAID))
    return [f"{where}:{line}: {text!r}" for where, line, text in sorted(scan.found) if (where, text) not in ALLOWED]


def test_no_sentence_for_people_is_written_outside_the_catalogue() -> None:
    found = literals_said_to_people(SCANNED)
    assert found == [], "put these sentences in veilleur/core/i18n.py and say them with t()/t_plural()"


def test_the_scan_sees_words_and_french_marks_but_not_notation() -> None:
    for language in ("nothing new", "FAILED", ": ", "(not modified)", "12%", "since "):
        assert is_language(language), language
    for notation in (" · ", "• ", "*", "\n", "--- #", ":warning: ", "<@U123>", "digest.reason.", "https://x.example/"):
        assert not is_language(notation), notation


def test_the_scan_finds_a_sentence_wherever_it_is_said(tmp_path: Path) -> None:
    module = tmp_path / "bot.py"
    module.write_text(
        "def f(report, respond, lang):\n"
        "    line = f'{report.watcher}: nothing new'\n"
        "    if report.quiet:\n"
        "        line += ' (first run)'\n"
        "    print(line)\n"
        "    respond(text=t('watch.usage', lang), response_type='ephemeral')\n"
        "    return {'type': 'section', 'text': markup(f\"*{t('spike.terms', lang)}*: {report.terms}\")}\n"
        "def g(blocks):\n"
        "    blocks.append({'type': 'context', 'elements': [plain_text('Too many tests', 75)]})\n"
        "    raise WatcherFieldError('backfill', f'expected a number, got {blocks!r}')\n"
        "def notice(lines):\n"
        "    return {'type': 'section', 'text': markup('\\n'.join(lines))}\n"
        "def h(note, lang):\n"
        "    lines = [t('escalation.joined', lang, user=note)]\n"
        "    lines.append(f'Also for {note}')\n"
        "    return notice(lines), action.get('value'), 'ascii'\n"
    )
    scan = Scan({"bot.py": ast.parse(module.read_text())})
    assert sorted(text for _, _, text in scan.found) == [
        " (first run)", "*: ", ": nothing new", "Also for ", "Too many tests", "expected a number, got "
    ]
