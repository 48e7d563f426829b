"""Text as the search index sees it: Snowball stems, the thesaurus' concepts, intents, heads.

Text is camelCase-split, irregular past forms are brought back to their verb ("built"), words
are stemmed with the Snowball English stemmer (PyStemmer), and each word or phrase of the
thesaurus adds its concept token (`~delete`), in operations and queries alike. A query's intent
is that of its first intent phrase (its verb, whose object may stand inside it: "shut the
database down"); its head noun is the last word of its first noun
phrase ("the *destinations* of list backup destinations"), an operation's objects are its tags
and its operationId's thing words before a qualifier ("By…").
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import Stemmer

from mcp_server.openapi.loading import Operation
from mcp_server.openapi.thesaurus import (
    CONCEPTS,
    INTENTS,
    IRREGULAR,
    STOPWORDS,
    THINGS,
    phrases,
)

_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(phrases(STOPWORDS))
_STEMMER = Stemmer.Stemmer("english")
_CONCEPT_MARK = "~"
_LONGEST_PHRASE = 3
_PREDICATE = _CONCEPT_MARK + "predicate"
SELF = _CONCEPT_MARK + "self"


_DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "our",
        "your",
        "this",
        "that",
        "these",
        "those",
        "its",
        "their",
        "some",
    ]
)


# The particles that end a phrasal verb whose object can stand inside it ("shut the database
# down", "log me out", "bring the app back").
_PARTICLES = frozenset(
    ["up", "down", "out", "off", "on", "back", "online", "offline", "over", "away"]
)


def _irregular_verbs() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in phrases(IRREGULAR):
        forms, verb = entry.split(":")
        table.update(dict.fromkeys(forms.split(), verb))
    return table


_VERB_OF = _irregular_verbs()


def _words(text: str) -> list[str]:
    spaced = _CAMEL.sub(lambda m: f"{m.group(1) or m.group(3)} {m.group(2) or m.group(4)}", text)
    return [_VERB_OF.get(word, word) for word in _WORD.findall(spaced.lower())]


def _phrase_tables() -> tuple[dict[tuple[str, ...], list[str]], dict[tuple[str, ...], list[str]]]:
    """Phrases as written (and their plural), then by stems for the other inflections.

    Written forms win so that a noun keeps its own meaning where the stemmer would merge it
    with a verb ("deployments" is the thing, "deploying" the intent).
    """
    surface: dict[tuple[str, ...], list[str]] = {}
    stemmed: dict[tuple[str, ...], list[str]] = {}
    for concept, written in CONCEPTS.items():
        token = _CONCEPT_MARK + concept
        for phrase in written:
            words = tuple(_words(phrase))
            for key, table in (
                (words, surface),
                ((*words[:-1], words[-1] + "s"), surface),
                (tuple(_STEMMER.stemWords(list(words))), stemmed),
            ):
                if token not in table.setdefault(key, []):
                    table[key].append(token)
    return surface, stemmed


_SURFACE, _STEMMED = _phrase_tables()


@dataclass(frozen=True)
class Terms:
    words: list[str]  # stems that are not stopwords
    concepts: list[str]  # `~concept` tokens of the thesaurus
    known: frozenset[str]  # the stems that carried a concept
    # The intents of the first phrase that has one: a task's verb comes first ("decline the
    # invite", "refresh my login token"); intent words after it are its objects.
    intents: tuple[str, ...] = ()
    # The task opens with a verb the thesaurus does not know ("schedule a job", "resize a
    # volume"): a word before a determiner is a verb in an imperative.
    unknown_verb: bool = False


def _phrase_concepts(span: tuple[str, ...], stems: tuple[str, ...]) -> list[str]:
    """The concepts of a phrase as written, else by its stems."""
    return (
        _SURFACE.get(span)
        or _STEMMED.get(stems)
        or (_SURFACE.get(("".join(span),)) if len(span) == 2 else None)  # "re deploy"
        or (["~identifier"] if span[0].isdigit() else None)  # "team 3": by id
        or []
    )


def _split_verb(words: list[str], stems: list[str]) -> tuple[list[str], set[str]]:
    """The intents of a first word and a later particle that form a phrasal verb of the
    thesaurus, with the object between them ("shut the mongo database down")."""
    for end in range(2, len(words)):
        if words[end] in _PARTICLES:
            for stop in (end + 2, end + 1):
                found = [
                    concept
                    for concept in _phrase_concepts(
                        (words[0], *words[end:stop]), (stems[0], *stems[end:stop])
                    )
                    if concept[1:] in INTENTS
                ]
                if found:
                    return found, {stems[0], *stems[end:stop]}
    return [], set()


@functools.lru_cache(maxsize=1 << 16)  # specs repeat their words: the index is built faster
def analyse(text: str, query: bool = False) -> Terms:
    """Stems without stopwords, and the concepts of the thesaurus' words and phrases in `text`."""
    written = _words(text)
    words = [word for word in written if word not in _DETERMINERS]
    stems = _STEMMER.stemWords(words)
    # The task's verb first, when its object stands inside it.
    concepts, known = _split_verb(words, stems) if query else ([], set())
    intents = tuple(concept[1:] for concept in concepts)
    start = 0
    while start < len(words):
        for length in range(min(_LONGEST_PHRASE, len(words) - start), 0, -1):
            found = [
                concept
                for concept in _phrase_concepts(
                    tuple(words[start : start + length]), tuple(stems[start : start + length])
                )
                # A yes/no question starts with its "am I", "is there": later it is a verb
                # ("how much have I used"). Specs say it anywhere ("Experimental: Has unpaid").
                if concept != _PREDICATE or start == 0 or not query
            ]
            if found:
                concepts += found
                intents = intents or tuple(c[1:] for c in found if c[1:] in INTENTS)
                known.update(stems[start : start + length])
                break
        else:
            length = 1
        start += length
    # Words run together as specs write them: "docker image" meets `createDockerimageApplication`,
    # "mysql" meets `manualBackupMySql` (whose "my" is not a determiner).
    joined = _STEMMER.stemWords([a + b for a, b in itertools.pairwise(written)])
    kept = [stem for stem in stems if stem not in _STOPWORDS]
    unknown_verb = (
        query
        and not intents
        and len(written) > 1
        and written[1] in _DETERMINERS
        and written[0] not in _STOPWORDS
        and written[0] not in _PHRASE_ENDS
    )
    return Terms(kept + joined, concepts, frozenset(known), intents, unknown_verb)


# Where a noun phrase ends: its head noun is the last word before one ("branches of a repo",
# "what env vars does my app have").
_PHRASE_ENDS = frozenset(
    phrases(
        "of, for, in, on, from, to, with, by, at, into, inside, across, per, about, as, via, "
        "using, that, which, who, when, where, so, than, and, or, but, "
        "do, does, did, is, are, am, was, be, can, could, should, would, will, has, have, had"
    )
)
# Where an operationId's qualifier starts: `getMembersByTeamId` is about members.
_QUALIFIERS = frozenset(["by", "for", "of", "from", "with", "in", "on", "to"])
_THINGS = frozenset(_CONCEPT_MARK + concept for concept in THINGS)


def _single_word_things(word: str) -> list[str]:
    found = _SURFACE.get((word,)) or _STEMMED.get((_STEMMER.stemWord(word),)) or []
    return [concept for concept in found if concept in _THINGS]


def _head_terms(word: str | None) -> frozenset[str]:
    if word is None:
        return frozenset()
    return frozenset([_STEMMER.stemWord(word), *_single_word_things(word)])


def _is_content(word: str) -> bool:
    """A word that can name a thing: not a stopword, not only an intent ("list", "status")."""
    if word in _STOPWORDS or word in _DETERMINERS or word.isdigit():
        return False
    concepts = _SURFACE.get((word,)) or _STEMMED.get((_STEMMER.stemWord(word),)) or []
    return not concepts or any(concept in _THINGS for concept in concepts)


def _head_word(text: str) -> str | None:
    chunk: list[str] = []
    for word in [*_words(text), "of"]:
        if word not in _PHRASE_ENDS:
            if _is_content(word):
                chunk.append(word)
        elif chunk:
            return chunk[-1]
    return None


def query_head(text: str) -> frozenset[str]:
    """The head noun of the task's first noun phrase, as its stem and thing concepts."""
    return _head_terms(_head_word(text))


def query_plural(text: str) -> bool:
    """Whether the head noun is written in the plural ("deployments", "branches")."""
    word = _head_word(text)
    return word is not None and len(word) > 3 and word.endswith("s") and not word.endswith("ss")


def operation_objects(operation: Operation) -> frozenset[str]:
    """What an operation acts on: its tags and its operationId's thing words before a qualifier
    (`getMembersByTeamId` acts on members, not teams)."""
    words = _words(operation.name)
    cut = next((n for n, word in enumerate(words) if n and word in _QUALIFIERS), len(words))
    tag_words = [word for tag in operation.tags for word in _words(tag)]
    return frozenset(
        term
        for word in [*words[:cut], *tag_words]
        if _is_content(word)
        for term in _head_terms(word)
    )


def tokenize(text: str) -> list[str]:
    """The words of `text` as the index sees them (stemmed, camelCase split, no stopwords)."""
    return analyse(text).words
