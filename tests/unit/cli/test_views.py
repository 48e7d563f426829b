"""The plugin's views: phase, step, weight and conditions first; analysis only when configured."""

from rich.console import Console

from codemode_cli.views import rollouts_table, status_view

STATUS = {
    "phase": "Progressing",
    "step": "2/4",
    "canaryWeight": 25,
    "stepRemaining": "12m",
    "verdict": "Inconclusive",
    "conditions": [
        {"type": "Progressing", "status": "True", "reason": "Dwelling", "message": "at 25%"}
    ],
    "analysis": {"verdict": "Inconclusive", "errors": {"eValue": 1.5, "verdict": "Inconclusive"}},
}


def _rollout(analysis: bool) -> dict:
    spec = {"analysis": {"prometheus": {"address": "http://p:9090"}}} if analysis else {}
    status = dict(STATUS) if analysis else {k: v for k, v in STATUS.items() if k != "analysis"}
    if not analysis:
        status["verdict"] = "-"
    return {"metadata": {"name": "mcp", "namespace": "team"}, "spec": spec, "status": status}


def _render(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_conditions_come_before_the_analysis() -> None:
    text = _render(status_view(_rollout(analysis=True)))
    assert text.index("Progressing") < text.index("Conditions") < text.index("Analysis")
    assert "Verdict" in text and "2/4" in text and "25%" in text


def test_without_analysis_no_analysis_section_and_no_verdict() -> None:
    text = _render(status_view(_rollout(analysis=False)))
    assert "Analysis" not in text and "Verdict" not in text and "Dwelling" in text
    table = _render(rollouts_table([_rollout(analysis=False)], all_namespaces=False))
    assert "Inconclusive" not in table
