"""Search index over operations: BM25 (bm25s) per field over the analysed text, then re-ranking.

Each field (operationId, summary, tags, path, parameter and body field names, description,
schema words) is its own BM25 index, so a long description cannot drown a short operationId;
the fields' scores are summed with their weights once, at build, into one posting per token. A
query's score is the sum over its tokens, then re-ranked without learning: by the share of the
task's terms an operation meets, by intent (the task's verb against the operation's; a task
without a verb reads, one with a verb the thesaurus does not know makes or changes), by head
noun and, for tasks about oneself, towards reads that take no identifier. Everything is built
once, when the spec loads; text analysis is `mcp_server.openapi.analysis`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np

from mcp_server.openapi.analysis import (
    SELF,
    analyse,
    operation_objects,
    query_head,
    query_plural,
)
from mcp_server.openapi.loading import Operation, property_names, resolve
from mcp_server.openapi.thesaurus import INTENTS

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
# A task without a verb ("traefik config of an app") reads: an operation that does something
# else keeps this share of its score...
VERBLESS_MISMATCH = 0.8
# ... and it reads many when its head noun is plural ("preview deployments of an app"):
# listings gain this factor.
PLURAL_LIST = 1.1
# A verb the thesaurus does not know ("schedule a job", "expose a port") makes or changes
# something: reads and deletions keep this share.
UNKNOWN_VERB_MISMATCH = 0.8
# An operation acting on the task's head noun (the "destinations" of "list backup destinations",
# not its "backup") gains this factor.
HEAD_MATCH = 1.15
# A task about oneself ("who am I") prefers the reads that take no identifier (`/user.get`,
# `/teams/current`).
SELF_MATCH = 1.2


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
        self._lists = np.array(
            ["~list" in analyse(operation.name).concepts for operation in self._operations],
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
        elif terms.unknown_verb:
            changes = self._intents["create"] | self._intents["update"]
            total[self._has_intent & ~changes] *= UNKNOWN_VERB_MISMATCH
        else:
            total[self._has_intent & ~self._intents["get"]] *= VERBLESS_MISMATCH
            if query_plural(query):
                total[self._lists] *= PLURAL_LIST
        if SELF in terms.concepts:
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
