"""Search index over operations: BM25 (bm25s) per field, Snowball stems and the domain's concepts.

Queries are plain task descriptions ("nuke the redis db"), so text is camelCase-split, stemmed
with the Snowball English stemmer (PyStemmer) and each word or phrase of the thesaurus adds its
concept token (`~delete`), in operations and queries alike. Each field (operationId, summary,
tags, path, parameter and body field names, description) is its own BM25 index, so a long
description cannot drown a short operationId; a query's score is the weighted sum over fields.
Everything is built once, when the spec loads.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
import Stemmer

from mcp_server.openapi.loading import Operation, property_names, resolve
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
_SELF = _CONCEPT_MARK + "self"

# How much a match in each field counts: the operationId says what an operation does.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "summary": 2.0,
    "tags": 1.0,
    "path": 1.0,
    "fields": 0.6,
    "doc": 0.5,
    "schema": 0.3,
}
# A query word the thesaurus knows counts through its concept ("nuke" meets "remove"); the word
# itself adds this much, so that the spec's own word still wins a tie.
KNOWN_WORD_WEIGHT = 0.6
COVERAGE_EXPONENT = 0.25
# An operation whose own intent (its operationId's verb, or its method's) is none of the query's
# intents keeps this share of its score: "add an env var" is not `deleteEnv`.
INTENT_MISMATCH = 0.6
# An operation acting on the task's head noun (the "destinations" of "list backup destinations",
# not its "backup") gains this factor.
HEAD_MATCH = 1.15
# A task about oneself ("who am I") prefers the reads that take no identifier (`/user.get`,
# `/teams/current`).
SELF_MATCH = 1.2


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


@functools.lru_cache(maxsize=1 << 16)  # specs repeat their words: the index is built faster
def analyse(text: str, query: bool = False) -> Terms:
    """Stems without stopwords, and the concepts of the thesaurus' words and phrases in `text`."""
    written = _words(text)
    words = [word for word in written if word not in _DETERMINERS]
    stems = _STEMMER.stemWords(words)
    concepts: list[str] = []
    intents: tuple[str, ...] = ()
    known: set[str] = set()
    start = 0
    while start < len(words):
        for length in range(min(_LONGEST_PHRASE, len(words) - start), 0, -1):
            span = tuple(words[start : start + length])
            found = [
                concept
                for concept in (
                    _SURFACE.get(span)
                    or _STEMMED.get(tuple(stems[start : start + length]))
                    or (_SURFACE.get(("".join(span),)) if length == 2 else None)  # "re deploy"
                    or (["~identifier"] if span[0].isdigit() else None)  # "team 3": by id
                    or []
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
    return Terms(kept + joined, concepts, frozenset(known), intents)


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


def query_head(text: str) -> frozenset[str]:
    """The head noun of the task's first noun phrase, as its stem and thing concepts."""
    chunk: list[str] = []
    for word in [*_words(text), "of"]:
        if word not in _PHRASE_ENDS:
            if _is_content(word):
                chunk.append(word)
        elif chunk:
            return _head_terms(chunk[-1])
    return frozenset()


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


def _schema_texts(document: Mapping[str, Any], schema: Any, depth: int = 1) -> list[str]:
    """What a schema's properties say: their docs, enum values and (one level down) names.

    A task names what it sets or reads ("the memory limit", "nixpacks"), which specs often
    keep in the body's or the result's properties rather than in the operation's own text.
    """
    schema = resolve(document, schema)
    if not isinstance(schema, dict):
        return []
    texts = [str(schema.get("description") or ""), *map(str, schema.get("enum") or ())]
    if depth > 0:
        properties: dict[str, Any] = {}
        for part in (schema, *(resolve(document, part) for part in schema.get("allOf") or ())):
            if isinstance(part, dict) and isinstance(part.get("properties"), dict):
                properties.update(part["properties"])
        for name, prop in properties.items():
            texts += [str(name), *_schema_texts(document, prop, depth - 1)]
        if isinstance(schema.get("items"), dict):
            texts += _schema_texts(document, schema["items"], depth - 1)
    return [text for text in texts if text]


def _document_fields(operation: Operation, document: Mapping[str, Any]) -> dict[str, Iterable[str]]:
    return {
        "name": [operation.name],
        # Without a summary the operationId is the summary, so such specs are not outranked.
        "summary": [operation.summary or operation.name],
        "tags": operation.tags,
        "path": [operation.path],
        "fields": [param.name for param in operation.parameters] + list(operation.body_fields),
        "doc": [operation.description],
        "schema": [
            text
            for param in operation.parameters
            for text in (param.description, *_schema_texts(document, param.schema, 0))
        ]
        + _schema_texts(document, operation.body_schema)
        + list(property_names(document, operation.response_schema)),
    }


@dataclass(frozen=True)
class Hit:
    operation: Operation
    score: float


Postings = dict[str, tuple[np.ndarray, np.ndarray]]


def _weighted_postings(documents: dict[str, list[list[str]]]) -> Postings:
    """Per token, the operations holding it and their BM25 score summed over the weighted fields.

    bm25s computes each field's scores at index time (a token-by-document sparse matrix); their
    weighted sum is fixed too, so a query only adds one precomputed vector per token.
    """
    parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for field, docs in documents.items():
        if not any(docs):
            continue
        bm25 = bm25s.BM25()
        bm25.index(docs, show_progress=False)
        indptr, indices, data = (bm25.scores[key] for key in ("indptr", "indices", "data"))
        for token, token_id in bm25.vocab_dict.items():
            if token_id + 1 >= len(indptr):  # bm25s' placeholder for the empty token
                continue
            holders, scores = parts.setdefault(token, ([], []))
            holders.append(indices[indptr[token_id] : indptr[token_id + 1]])
            scores.append(data[indptr[token_id] : indptr[token_id + 1]] * FIELD_WEIGHTS[field])
    postings: Postings = {}
    for token, (holders, scores) in parts.items():
        ids, where = np.unique(np.concatenate(holders), return_inverse=True)
        postings[token] = (ids, np.bincount(where, weights=np.concatenate(scores)))
    return postings


def _field_tokens(field: str, texts: Iterable[str]) -> list[str]:
    tokens: list[str] = []
    for text in texts:
        terms = analyse(text)
        tokens += terms.words + terms.concepts
    # Short fields say what an operation is, once: `getServerServerMetrics` is not more "server".
    return tokens if field == "doc" else list(dict.fromkeys(tokens))


class OperationIndex:
    def __init__(
        self, operations: Sequence[Operation], document: Mapping[str, Any] | None = None
    ) -> None:
        """`document` (the spec) resolves the `$ref`s of bodies and results for their words."""
        self._operations = tuple(operations)
        documents: dict[str, list[list[str]]] = {field: [] for field in FIELD_WEIGHTS}
        for operation in self._operations:
            for field, texts in _document_fields(operation, document or {}).items():
                documents[field].append(_field_tokens(field, texts))
        self._postings = _weighted_postings(documents)
        self._intents = {intent: np.zeros(len(operations), dtype=bool) for intent in INTENTS}
        for n, operation in enumerate(self._operations):
            for intent in _intents_of(operation):
                self._intents[intent][n] = True
        self._has_intent = np.logical_or.reduce(list(self._intents.values()))
        self._reads_own = np.array(
            [
                operation.method == "get"
                and not any(param.required for param in operation.parameters)
                and "~list" not in analyse(operation.name).concepts
                for operation in self._operations
            ],
            dtype=bool,
        )
        self._heads: dict[str, np.ndarray] = {}
        for n, operation in enumerate(self._operations):
            for term in operation_objects(operation):
                self._heads.setdefault(term, np.zeros(len(operations), dtype=bool))[n] = True
        names = [operation.name for operation in self._operations]
        self._name_order = np.argsort(np.argsort(names, kind="stable"), kind="stable")

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        terms = analyse(query, query=True)
        # A word the thesaurus knows is matched through its concept; as itself it only breaks ties.
        words = list(dict.fromkeys(terms.words))
        groups = (
            ([w for w in words if w not in terms.known] + list(dict.fromkeys(terms.concepts)), 1.0),
            ([w for w in words if w in terms.known], KNOWN_WORD_WEIGHT),
        )
        total = np.zeros(len(self._operations))
        covered = np.zeros(len(self._operations))
        for tokens, weight in groups:
            for token in tokens:
                if token in self._postings:
                    holders, scores = self._postings[token]
                    total[holders] += weight * scores
                    covered[holders] += weight == 1.0
        if groups[0][0]:
            # Coordination: an operation meeting more of the task's words and concepts ranks
            # above one meeting a single rare word many times.
            total *= (covered / len(groups[0][0])) ** COVERAGE_EXPONENT
        wanted = [self._intents[intent] for intent in terms.intents]
        if wanted:
            total[self._has_intent & ~np.logical_or.reduce(wanted)] *= INTENT_MISMATCH
        if _SELF in terms.concepts:
            # "who am I": reading one thing without saying which is reading one's own.
            total[self._reads_own] *= SELF_MATCH
        heads = [self._heads[term] for term in query_head(query) if term in self._heads]
        if heads:
            total[np.logical_or.reduce(heads)] *= HEAD_MATCH
        matched = np.flatnonzero(total > 0)
        # Best score first; equal scores in operationId order, so results are deterministic.
        best = matched[np.lexsort((self._name_order[matched], -total[matched]))][:limit]
        return [Hit(self._operations[n], float(total[n])) for n in best]


def _intents_of(operation: Operation) -> set[str]:
    """The verbs of the operationId; else what its method says (DELETE deletes, GET reads)."""
    named = {c[1:] for c in analyse(operation.name).concepts if c[1:] in INTENTS}
    named |= {"delete": {"delete"}, "put": {"update"}, "patch": {"update"}}.get(
        operation.method, set()
    )
    if not named and operation.method == "get":
        named = {"get"}
    # Reading one and reading many are one intent here ("list swarm nodes" is `swarmGetNodes`).
    return named | {"get", "list"} if named & {"get", "list"} else named
