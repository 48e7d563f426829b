"""Search index over operations: BM25 over weighted fields, built once when the spec loads.

Queries are plain task descriptions ("remove a custom domain"), so tokens are camelCase-split,
lightly stemmed and expanded with a few verb synonyms the APIs spell differently.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mcp_server.openapi.loading import Operation

_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "the",
        "their",
        "them",
        "then",
        "this",
        "to",
        "up",
        "using",
        "via",
        "we",
        "with",
        "you",
        "your",
    ]
)
# Verbs and nouns that name the same intent differently across APIs; expansion weight is lower.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "remov": ("delet",),
    "delet": ("remov",),
    "add": ("creat",),
    "creat": ("add", "new"),
    "new": ("creat",),
    "make": ("creat",),
    "show": ("get", "list"),
    "fetch": ("get",),
    "read": ("get",),
    "all": ("list",),
    "chang": ("updat",),
    "edit": ("updat",),
    "modifi": ("updat",),
    "set": ("updat",),
    "env": ("environ", "variabl", "var"),
    "var": ("variabl", "env"),
    "variabl": ("var", "env"),
    "url": ("domain",),
    "domain": ("url",),
    "log": ("logs",),
    "kill": ("stop", "cancel"),
    "abort": ("cancel",),
    "redeploy": ("deploy",),
    "ship": ("deploy",),
    "releas": ("deploy",),
    "app": ("applic", "project"),
    "applic": ("app",),
    "build": ("job",),
}
_FIELD_WEIGHTS = {"name": 3.0, "summary": 2.0, "tags": 1.5, "path": 1.5, "params": 1.0, "doc": 1.0}
_K1 = 1.2
_B = 0.75
_SYNONYM_WEIGHT = 0.4


def _stem(word: str) -> str:
    """Plural, then one verb/noun suffix, then a final e: create/created/creates → creat."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ment", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def tokenize(text: str) -> list[str]:
    spaced = _CAMEL.sub(lambda m: f"{m.group(1) or m.group(3)} {m.group(2) or m.group(4)}", text)
    return [_stem(word) for word in _TOKEN.findall(spaced.lower()) if word not in _STOPWORDS]


@dataclass(frozen=True)
class Hit:
    operation: Operation
    score: float


class OperationIndex:
    def __init__(self, operations: Sequence[Operation]) -> None:
        self._operations = tuple(operations)
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lengths: list[float] = []
        for position, operation in enumerate(self._operations):
            weighted = self._weighted_terms(operation)
            lengths.append(sum(weighted.values()))
            for term, weight in weighted.items():
                self._postings[term].append((position, weight))
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        self._norms = [_K1 * (1 - _B + _B * length / average) for length in lengths]
        total = len(self._operations)
        self._idf = {
            term: math.log(1 + (total - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, docs in self._postings.items()
        }

    @staticmethod
    def _weighted_terms(operation: Operation) -> Counter[str]:
        fields: dict[str, Iterable[str]] = {
            "name": [operation.name],
            "summary": [operation.summary],
            "tags": operation.tags,
            "path": [operation.path],
            "params": [param.name for param in operation.parameters],
            "doc": [operation.description],
        }
        weighted: Counter[str] = Counter()
        for field, texts in fields.items():
            for text in texts:
                for token in tokenize(text):
                    weighted[token] += _FIELD_WEIGHTS[field]
        return weighted

    def _query_terms(self, query: str) -> dict[str, float]:
        terms: dict[str, float] = {}
        for token in tokenize(query):
            terms[token] = terms.get(token, 0.0) + 1.0
            for synonym in _SYNONYMS.get(token, ()):
                terms.setdefault(synonym, _SYNONYM_WEIGHT)
        return terms

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        scores: dict[int, float] = defaultdict(float)
        for term, query_weight in self._query_terms(query).items():
            idf = self._idf.get(term)
            if idf is None:
                continue
            for position, tf in self._postings[term]:
                scores[position] += (
                    query_weight * idf * tf * (_K1 + 1) / (tf + self._norms[position])
                )
        best = sorted(scores.items(), key=lambda item: (-item[1], self._operations[item[0]].name))
        return [Hit(self._operations[position], score) for position, score in best[:limit]]
