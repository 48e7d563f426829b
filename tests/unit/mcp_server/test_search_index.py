from __future__ import annotations

import pytest

from benchmarks.bench_search import load_tasks
from devcluster.specs import REAL_SPEC_FILES, REAL_SPECS, SAMPLE_SPEC, thousand_operations
from mcp_server.openapi.analysis import (
    analyse,
    operation_objects,
    query_head,
    query_plural,
    tokenize,
)
from mcp_server.openapi.index import OperationIndex
from mcp_server.openapi.loading import load_spec


def test_tokenize_splits_camel_case_and_stems_with_snowball() -> None:
    assert tokenize("listEnvVars")[:3] == ["list", "env", "var"]
    assert tokenize("Deployments deploying deployed")[:3] == ["deploy", "deploy", "deploy"]
    # The hand-written stemmer missed these: Snowball gets them.
    assert tokenize("validate")[0] == tokenize("validation")[0] == tokenize("valid")[0]


def test_the_thesaurus_meets_user_words_and_spec_words_on_concepts() -> None:
    assert "~delete" in analyse("nuke the app").concepts
    assert "~delete" in analyse("projectRemove").concepts
    assert "~restart" in analyse("bounce it").concepts
    assert "~create" in analyse("spin up a db").concepts
    assert "~usage" in analyse("how much have I used").concepts
    assert "~usage" in analyse("GetOrganizationUsage").concepts
    # A yes/no question asks for an operation that answers one.
    assert "~predicate" in analyse("am I behind on payments").concepts
    assert "~predicate" in analyse("HasUnpaidInvoices").concepts
    # A noun keeps its meaning where the stemmer would merge it with the verb.
    assert "~deploy" not in analyse("deployments").concepts
    assert "~deploy" in analyse("ship it").concepts
    assert "~restart" in analyse("ReDeploy").concepts  # words run together as specs write them


def test_a_task_s_intent_is_its_verb_and_later_intent_words_are_its_objects() -> None:
    assert analyse("decline the invite", query=True).intents == ("decline",)
    assert analyse("refresh my login token", query=True).intents == ("refresh",)
    assert analyse("server cpu and memory usage", query=True).intents == ()


def test_a_phrasal_verb_with_its_object_inside_is_the_task_s_verb() -> None:
    assert analyse("shut the mongo database down", query=True).intents == ("stop",)
    assert analyse("log me out", query=True).intents == ("logout",)
    assert "resume" in analyse("bring the app back", query=True).intents
    # Only a task's first word is its verb: "logs" of a later phrase stay logs.
    assert analyse("tail the logs of my app", query=True).intents == ()


def test_a_word_before_a_determiner_is_a_verb_even_when_the_thesaurus_does_not_know_it() -> None:
    assert analyse("schedule a cron job", query=True).unknown_verb
    assert not analyse("traefik config of an app", query=True).unknown_verb
    assert not analyse("is the api up", query=True).unknown_verb  # a question, not a verb
    assert not analyse("add a server", query=True).unknown_verb  # a verb it knows
    assert query_plural("preview deployments of an app")
    assert not query_plural("traefik config of an app")
    assert not query_plural("the ip address of a server")


@pytest.mark.parametrize(
    ("spec_file", "query", "expected"),
    [
        # No verb: a read, of many when the head noun is plural.
        ("dokploy-openapi.json", "preview deployments of an app", "previewDeploymentAll"),
        # A verb the thesaurus does not know makes or changes.
        ("koyeb-openapi.yaml", "resize a volume", "UpdatePersistentVolume"),
        ("dokploy-openapi.json", "shut the mongo database down", "mongoStop"),
    ],
)
def test_the_verb_decides_when_it_is_missing_unknown_or_split(
    spec_file: str, query: str, expected: str
) -> None:
    spec = load_spec(REAL_SPECS / spec_file)
    index = OperationIndex(spec.operations, spec.document)
    assert index.search(query, 1)[0].operation.name == expected


def test_a_yes_no_question_is_one_only_from_its_first_words() -> None:
    assert "~predicate" in analyse("am I behind on payments", query=True).concepts
    assert "~predicate" not in analyse("how much have I used", query=True).concepts
    # Specs put it anywhere: "Experimental: Has unpaid invoices".
    assert "~predicate" in analyse("Experimental: Has unpaid invoices").concepts


def test_irregular_past_forms_and_words_run_together_meet_the_spec() -> None:
    assert tokenize("buildType")[0] in tokenize("how the app is built")
    assert tokenize("mysql")[0] in tokenize("manualBackupMySql")


def test_the_head_noun_of_a_task_meets_what_an_operation_acts_on() -> None:
    assert "destin" in query_head("list backup destinations")
    assert "branch" in query_head("branches of a git repository")
    assert "var" in query_head("what env vars does my app have")
    spec = load_spec(REAL_SPECS / "dokploy-openapi.json")
    by_compose = spec.operation("deploymentAllByCompose")
    assert by_compose is not None
    assert "~deployment" in operation_objects(by_compose)
    assert "~compose" not in operation_objects(by_compose)  # a qualifier: `By…`


def test_schema_words_enum_values_and_result_fields_are_searched() -> None:
    spec = load_spec(REAL_SPECS / "dokploy-openapi.json")
    index = OperationIndex(spec.operations, spec.document)
    # `nixpacks` is only an enum value of the body's `buildType`.
    assert [hit.operation.name for hit in index.search("nixpacks", 1)] == [
        "applicationSaveBuildType"
    ]


@pytest.fixture(scope="module")
def coolify() -> OperationIndex:
    return OperationIndex(load_spec(REAL_SPECS / "coolify-openapi.yaml").operations)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("remove a custom domain", "deleteDomain"),
        ("bounce the app", "restartProject"),
    ],
)
def test_ranking_on_the_sample_spec(query: str, expected: str) -> None:
    index = OperationIndex(load_spec(SAMPLE_SPEC).operations)
    assert index.search(query, 1)[0].operation.name == expected
    assert index.search("zzz qqq") == []


def test_the_intent_decides_between_operations_on_the_same_thing(coolify: OperationIndex) -> None:
    assert coolify.search("add an env var to the app", 1)[0].operation.name == (
        "createEnvByApplicationUuid"
    )
    assert coolify.search("nuke this application", 1)[0].operation.name == (
        "deleteApplicationByUuid"
    )
    # A short generic word ("app") does not pull in the GitHub-app operation.
    assert coolify.search("restart the app", 1)[0].operation.name == "restartApplicationByUuid"


def test_words_of_a_task_are_matched_against_request_body_fields() -> None:
    operation = load_spec(SAMPLE_SPEC).operation("createDeployment")
    assert operation is not None and "gitUrl" in operation.body_fields


def test_search_over_1000_operations_still_ranks_the_right_one_first() -> None:
    # Latency over the same 1000 operations is measured by benchmarks/bench_search.py, not here.
    index = OperationIndex(thousand_operations())
    top = index.search("remove a custom domain", 5)
    assert top and top[0].operation.name.startswith("deleteDomain")


def test_the_relevance_set_names_real_operations_and_has_its_three_splits() -> None:
    tasks = load_tasks()
    assert len(tasks) >= 60
    assert {task.split for task in tasks} == {"dev", "held-out", "fresh"}
    for spec_file in REAL_SPEC_FILES:
        names = {op.name for op in load_spec(REAL_SPECS / spec_file).operations}
        for task in (t for t in tasks if t.spec == spec_file):
            assert set(task.accept) <= names, task
