"""Every text the pages show has a Vietnamese translation.

The texts are the literals passed to ``t("...")`` in the tablet scripts
(client_web/static/*.js) and to ``_("...")`` in the page and PDF templates; the
translations are the catalogs server/locale/vi/*.po (one per capability).
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "client_web" / "static").glob("*.js"))
TEMPLATES = sorted([*(ROOT / "client_web" / "templates").glob("*.html"),
                    *(ROOT / "server" / "templates").glob("**/*.html")])
CATALOGS = sorted((ROOT / "server" / "locale" / "vi").glob("*.po"))

# t("...") / t('...') / t(`...`) without ${}; a word boundary keeps out e.g. "set("
SCRIPT_TEXT = re.compile(r"""(?<![\w$.])t\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\$]|\\.)*)`)""")
TEMPLATE_TEXT = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


SCRIPT_CALL = re.compile(r"(?<![\w$.])t\(")
LITERAL = re.compile(r"""[?:]\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")


def texts_in(paths: list[Path], pattern: re.Pattern) -> dict[str, str]:
    """Each literal found, with the first file that shows it."""
    found: dict[str, str] = {}
    for path in paths:
        source = path.read_text(encoding="utf-8")
        texts = [next(group for group in match.groups() if group is not None)
                 for match in pattern.finditer(source)]
        if pattern is SCRIPT_TEXT:
            texts += conditional_texts(source)
        for text in texts:
            found.setdefault(unescape(text), str(path.relative_to(ROOT)))
    return found


def conditional_texts(source: str) -> list[str]:
    """Literals chosen inside the call: ``t(secret ? "Secret vote" : "Named vote")``."""
    texts = []
    for match in SCRIPT_CALL.finditer(source):
        argument = first_argument(source, match.end())
        if "?" in argument:
            texts += [a if a is not None else b for a, b in LITERAL.findall(argument)]
    return texts


def first_argument(source: str, start: int) -> str:
    """The source of a call's first argument, from just after its "("."""
    depth, quote, at = 0, "", start
    while at < len(source):
        ch = source[at]
        if quote:
            if ch == "\\":
                at += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}" and depth:
            depth -= 1
        elif ch in ",)" and not depth:
            break
        at += 1
    return source[start:at]


def translated() -> set[str]:
    ids: set[str] = set()
    for path in CATALOGS:
        with path.open("rb") as handle:
            ids.update(m.id for m in read_po(handle, locale="vi")
                       if isinstance(m.id, str) and m.id and m.string)
    return ids


def test_the_extraction_finds_texts_in_scripts_and_templates():
    scripts = texts_in(SCRIPTS, SCRIPT_TEXT)
    templates = texts_in(TEMPLATES, TEMPLATE_TEXT)

    assert "Next page" in scripts and "Keep the meeting book on this tablet" in scripts
    assert "Participants" in templates
    assert "Show of hands or paper" in scripts  # chosen by a condition inside t(...)


def test_every_text_of_the_pages_has_a_vietnamese_translation():
    texts = {**texts_in(TEMPLATES, TEMPLATE_TEXT), **texts_in(SCRIPTS, SCRIPT_TEXT)}
    known = translated()

    missing = sorted(f"{where}: {text!r}" for text, where in texts.items() if text not in known)

    assert not missing, f"{len(missing)} texts have no Vietnamese translation:\n" + "\n".join(missing)


def error_sentences() -> dict[str, str]:
    """The sentences raised as MeetingError (and its kinds) anywhere in server/,
    with the first file that raises each: what a person in the room reads."""
    import ast

    from server import errors

    kinds = {name for name, value in vars(errors).items()
             if isinstance(value, type) and issubclass(value, errors.MeetingError)}
    found: dict[str, str] = {}
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            first = node.args[0]
            if name in kinds and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, str(path.relative_to(ROOT)))
    return found


def test_every_error_sentence_has_a_vietnamese_translation():
    sentences = error_sentences()
    known = translated()

    missing = sorted(f"{where}: {text!r}" for text, where in sentences.items() if text not in known)

    assert "You were away too long and have been logged out. Please log in again with your access code." in sentences
    assert not missing, f"{len(missing)} error sentences have no Vietnamese translation:\n" + "\n".join(missing)


def test_a_text_means_one_thing_in_every_catalog():
    # the catalogs are merged into one: a text translated two ways in two
    # catalogs shows one of them everywhere ("Title" became a document title
    # where a job title was meant); give such texts distinct English words
    meanings: dict[str, dict[str, str]] = {}
    for path in CATALOGS:
        with path.open("rb") as handle:
            for message in read_po(handle, locale="vi"):
                if isinstance(message.id, str) and message.id and message.string:
                    meanings.setdefault(message.id, {}).setdefault(message.string, path.name)

    ambiguous = {text: found for text, found in meanings.items() if len(found) > 1}

    assert not ambiguous, f"texts translated differently in different catalogs: {ambiguous}"
