"""commit_msg: headers are Conventional Commits; git's own messages pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import commit_msg


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(text, encoding="utf-8")
    code = commit_msg.main([str(path)])
    return code, capsys.readouterr().out.replace(str(tmp_path) + "/", "").splitlines()


@pytest.mark.parametrize(
    "message",
    [
        "feat(marts): add fct_daily_sales\n",
        "fix: keep null amounts out of fct_orders\n\nThe staging cast dropped them.\n",
        "feat!: drop fct_orders.amount\n",
        "chore(deps): bump dbt-core\n# Please enter the commit message for your changes.\n",
        "Merge branch 'feat/x' into main\n",
        'Revert "feat: add fct_daily_sales"\n',
        "fixup! feat: add fct_daily_sales\n",
    ],
)
def test_conventional_and_git_generated_messages_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], message: str
) -> None:
    assert _check(tmp_path, message, capsys) == (0, [])


def test_a_free_form_header_fails_with_the_expected_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, "Added the orders mart\n", capsys) == (
        1,
        [
            "COMMIT_EDITMSG:1: header 'Added the orders mart' is not a Conventional Commit",
            "    fix: write '<type>(<scope>): <description>' with type one of feat, fix, chore, docs, style, "
            "refactor, perf, test, build, ci, revert, e.g. 'feat(marts): add fct_orders'",
        ],
    )


def test_unknown_type_missing_blank_line_and_empty_message_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(tmp_path, "feature: add x\nbody right away\n", capsys)
    assert code == 1
    assert [line for line in out if not line.startswith("    fix:")] == [
        "COMMIT_EDITMSG:1: header 'feature: add x' is not a Conventional Commit",
        "COMMIT_EDITMSG:2: the body starts right after the header",
    ]
    assert _check(tmp_path, "# only a comment\n\n", capsys)[1][0] == "COMMIT_EDITMSG:1: the commit message is empty"
