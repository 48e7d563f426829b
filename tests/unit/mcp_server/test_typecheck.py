"""tsc's diagnostics, mapped back to the model's lines (the check itself runs in integration)."""

from __future__ import annotations

from mcp_server.typecheck import Diagnostic, _diagnostics, describe


def test_diagnostics_of_the_check_file_are_shifted_to_the_models_lines() -> None:
    output = (
        "code7.ts(5,45): error TS2322: Type 'number' is not assignable to type 'string'.\n"
        "sdk.d.ts(1,1): error TS1000: not the model's\n"
        "code7.ts(2,1): error TS1005: ';' expected.\n"
    )
    assert _diagnostics(output, "code7.ts") == [
        Diagnostic(2, 45, "TS2322", "Type 'number' is not assignable to type 'string'."),
        Diagnostic(1, 1, "TS1005", "';' expected."),  # a wrapper line is the first line
    ]


def test_the_message_shows_each_problem_with_its_line_and_caps_the_list() -> None:
    code = "const a = 1;\nconst b: string = a;"
    message = describe([Diagnostic(2, 7, "TS2322", "Type 'number' is not assignable.")] * 7, code)
    assert message.startswith("the code does not type-check against the API, nothing ran:\n")
    assert (
        "line 2, column 7: Type 'number' is not assignable. (TS2322)\n  2 | const b: string = a;"
        in (message)
    )
    assert message.count("TS2322") == 5 and message.endswith("…and 2 more")
