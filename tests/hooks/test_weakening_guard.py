"""weakening_guard: a removed or weakened data test, unit test or expectation fails unless the change waives it.

Seeded defects in a git repository holding a copy of this project's dbt folder.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from hooks import contract_guard, weakening_guard
from tests.hooks.conftest import PROJECT_ROOT, PreCommit, commit_all, git, init_repo, output_of, run_hook, write

FACTS = "dbt/models/marts/facts/_facts.yml"
UNIT_TESTS = "dbt/models/marts/facts/_unit_tests.yml"
PLACEHOLDER = '            reason: "<why this check may go or be weaker>"'
EDIT_PLACEHOLDER = '            reason: "<why the new value is right>"'


def copy_dbt_project(destination: Path) -> None:
    """The files git tracks under dbt/ in this repository, as they are in its working tree."""
    archive = subprocess.run(
        ["git", "ls-files", "-z", "dbt"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in filter(None, archive.split("\0")):
            if (PROJECT_ROOT / name).is_file():
                tar.add(PROJECT_ROOT / name, arcname=name)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        tar.extractall(destination, filter="data")


@pytest.fixture
def project(tmp_path: Path, git_env: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with a copy of this project's dbt folder, committed; the working directory."""
    copy_dbt_project(tmp_path)
    init_repo(tmp_path)
    commit_all(tmp_path, "feat: the project")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def guard(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = weakening_guard.main(list(args))
    return code, capsys.readouterr().out.splitlines()


def read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def edit(path: str, old: str, new: str, *, after: str = "") -> None:
    """Replace the first `old` that follows `after` (a unique anchor) in the file."""
    text = read(path)
    start = text.index(after) if after else 0
    index = text.index(old, start)
    Path(path).write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")


def line_of(path: str, needle: str, *, after: str = "") -> int:
    """The line where `needle` starts (the first one after the anchor `after`)."""
    text = read(path)
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def owner_line(model: str) -> int:
    return line_of(FACTS, f"  - name: {model}\n")


def fix(verb: str, check: str, model: str = "fct_orders", new_value: str = "") -> list[str]:
    """The fix lines of a finding; with `new_value`, those of a changed check (its waiver names the value)."""
    return [
        f"    fix: {verb}, or record why in model '{model}' ({FACTS}:{owner_line(model)}), "
        "under `config: meta: quality: waivers:`:",
        f'          - check: "{check}"',
        *([f"            new_value: {new_value}", EDIT_PLACEHOLDER] if new_value else [PLACEHOLDER]),
    ]


def add_waiver(check: str, reason: str, model: str = "fct_orders", new_value: str = "") -> None:
    """A waiver added to the model's `waivers:` list (made when the model has none yet)."""
    written = f"              new_value: {new_value}\n" if new_value else ""
    entry = f'            - check: "{check}"\n{written}              reason: "{reason}"\n'
    anchor = "      meta:\n        quality:\n"
    text, start = read(FACTS), read(FACTS).index(f"  - name: {model}\n")
    has_list = text.index(anchor, start) == text.find(f"{anchor}          waivers:\n", start)
    if has_list:
        edit(
            FACTS, f"{anchor}          waivers:\n", f"{anchor}          waivers:\n{entry}", after=f"  - name: {model}\n"
        )
    else:
        edit(FACTS, anchor, f"{anchor}          waivers:\n{entry}", after=f"  - name: {model}\n")


ORDER_ID_UNIQUE = "        data_tests: [unique]\n"
FCT_ORDERS = "  - name: fct_orders\n"


class TestRemovals:
    def test_an_unchanged_project_passes_silently(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert guard(capsys) == (0, [])

    def test_deleting_a_unique_test_from_a_column_fails_where_it_was(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = line_of(FACTS, ORDER_ID_UNIQUE, after=FCT_ORDERS)
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)

        assert guard(capsys) == (
            1,
            [
                f"{FACTS}:{line}: model 'fct_orders': data test 'unique(order_id)' removed",
                *fix("restore it", "unique(order_id)"),
            ],
        )

    def test_deleting_a_gx_expectation_fails(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        item = "                - expectation: expect_column_values_to_be_in_set\n"
        line = line_of(FACTS, item, after=FCT_ORDERS)
        edit(FACTS, item + "                  kwargs: {value_set: [0, 4.99, 9.99]}\n", "", after=FCT_ORDERS)

        code, out = guard(capsys)

        assert code == 1
        assert out == [
            f"{FACTS}:{line}: model 'fct_orders': expectation 'expect_column_values_to_be_in_set(shipping_amount)' "
            "removed",
            *fix("restore it", "expect_column_values_to_be_in_set(shipping_amount)"),
        ]

    def test_one_of_several_unexpected_rows_is_named_by_its_description(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        item = (
            "            - expectation: unexpected_rows\n"
            "              description: order total is net line amount plus shipping\n"
            "              query: >\n"
            "                select order_id\n"
            "                from {batch}\n"
            "                where order_total <> net_amount + shipping_amount\n"
        )
        line = line_of(FACTS, item)
        edit(FACTS, item, "")
        name = "unexpected_rows[order total is net line amount plus shipping]"

        assert guard(capsys) == (
            1,
            [f"{FACTS}:{line}: model 'fct_orders': expectation '{name}' removed", *fix("restore it", name)],
        )

    def test_removing_a_unit_test_fails_and_is_waived_under_the_tested_model(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        name = "fct_orders_totals_add_up_lines_shipping_and_payments"
        text = read(UNIT_TESTS)
        start = text.index(f"  - name: {name}\n")
        end = text.index("\n  - name: ", start) + 1
        Path(UNIT_TESTS).write_text(text[:start] + text[end:], encoding="utf-8")

        assert guard(capsys) == (
            1,
            [
                f"{UNIT_TESTS}:{text[:start].count(chr(10)) + 1}: model 'fct_orders': unit test 'unit_test({name})' "
                "removed",
                *fix("restore it", f"unit_test({name})"),
            ],
        )

    def test_deleting_a_whole_properties_file_of_unit_tests_fails_once_per_unit_test(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = "dbt/models/intermediate/_unit_tests.yml"
        Path(path).unlink()

        code, out = guard(capsys)

        assert code == 1
        assert [line for line in out if not line.startswith(" ")] == [
            f"{path}:2: model 'int_order_lines_priced': unit test "
            "'unit_test(int_order_lines_priced_computes_line_money)' removed",
            f"{path}:28: model 'int_order_payments': unit test "
            "'unit_test(int_order_payments_splits_captures_cards_and_refunds)' removed",
        ]

    def test_deleting_a_model_with_its_yaml_is_not_a_weakening(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = read("dbt/models/marts/facts/_facts.yml")
        start = text.index("  - name: fct_daily_sales\n")
        end = text.find("\n  - name: ", start + 1)
        Path(FACTS).write_text(text[:start] + (text[end + 1 :] if end != -1 else ""), encoding="utf-8")
        Path("dbt/models/marts/facts/fct_daily_sales.sql").unlink()

        assert guard(capsys) == (0, [])

    def test_removing_a_models_yaml_entry_but_keeping_its_sql_fails(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = read(FACTS)
        start = text.index("  - name: fct_daily_sales\n")
        end = text.find("\n  - name: ", start + 1)
        Path(FACTS).write_text(text[:start] + (text[end + 1 :] if end != -1 else ""), encoding="utf-8")

        code, out = guard(capsys)

        assert code == 1
        assert out[1] == (
            "    fix: restore it, or record why in model 'fct_daily_sales': add a properties entry "
            "`- name: fct_daily_sales` and, under its `config: meta: quality: waivers:`:"
        )


class TestSingularTests:
    SQL = "dbt/tests/assert_payments_never_exceed_order_total.sql"
    CHECK = "singular_test(assert_payments_never_exceed_order_total)"

    def test_deleting_a_singular_test_fails_and_is_waived_in_dbt_project_vars(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        Path(self.SQL).unlink()

        code, out = guard(capsys)

        assert code == 1
        assert out[:2] == [
            f"{self.SQL}:1: project: singular test '{self.CHECK}' removed",
            f"    fix: restore it, or record why in dbt_project.yml (dbt/dbt_project.yml:{line_of('dbt/dbt_project.yml', 'vars:')}), "
            "under `vars: quality: waivers:`:",
        ]
        edit(
            "dbt/dbt_project.yml",
            "vars:\n",
            f'vars:\n  quality:\n    waivers:\n      - check: "{self.CHECK}"\n        reason: "covered by a reconcile"\n',
        )
        assert guard(capsys) == (
            0,
            [
                "waived (listed, not failing):",
                f"{self.SQL}:1: project: singular test '{self.CHECK}' removed - waived: covered by a reconcile",
            ],
        )

    def test_a_singular_test_set_to_warn_in_its_sql_fails(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        Path(self.SQL).write_text("{{ config(severity='warn') }}\n" + read(self.SQL), encoding="utf-8")

        code, out = guard(capsys)

        assert code == 1
        assert (
            out[0]
            == f"{self.SQL}:1: project: singular test '{self.CHECK}' weakened: severity lowered from error to warn"
        )


class TestWeakenings:
    def test_severity_error_to_warn_fails(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        values = '                values: ["placed", "shipped", "delivered", "returned", "cancelled"]\n'
        edit(FACTS, values, values + "              config: {severity: warn}\n", after=FCT_ORDERS)
        line = line_of(FACTS, "          - accepted_values:\n", after=FCT_ORDERS)

        assert guard(capsys) == (
            1,
            [
                f"{FACTS}:{line}: model 'fct_orders': data test 'accepted_values(order_status)' weakened: "
                "severity lowered from error to warn",
                *fix("undo it", "accepted_values(order_status)"),
            ],
        )

    def test_project_wide_severity_warn_weakens_every_data_test(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit("dbt/dbt_project.yml", "+severity: error", "+severity: warn")

        code, out = guard(capsys)

        assert code == 1
        headlines = [line for line in out if not line.startswith(" ")]
        assert "model 'fct_orders': data test 'unique(order_id)' weakened: severity lowered from error to warn" in [
            line.split(": ", 1)[1] for line in headlines
        ]
        assert not any("expectation" in line for line in headlines)

    def test_min_value_0_to_minus_10_fails(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        anchor = "      - name: net_amount\n        description: Sum of the lines' net amounts.\n"
        edit(FACTS, "kwargs: {min_value: 0}", "kwargs: {min_value: -10}", after=anchor)
        line = line_of(FACTS, "                - expectation: expect_column_values_to_be_between\n", after=anchor)

        assert guard(capsys) == (
            1,
            [
                f"{FACTS}:{line}: model 'fct_orders': expectation 'expect_column_values_to_be_between(net_amount)' "
                "weakened: min_value lowered from 0 to -10",
                *fix("undo it", "expect_column_values_to_be_between(net_amount)", new_value="{min_value: -10}"),
            ],
        )

    @pytest.mark.parametrize(
        ("old", "new", "change"),
        [
            ("{min_value: 1, max_value: 50}", "{min_value: 1}", "max_value 50 removed"),
            ("{min_value: 1, max_value: 50}", "{min_value: 1, max_value: 60}", "max_value raised from 50 to 60"),
            (
                "{min_value: 1, max_value: 50}",
                "{min_value: 1, max_value: 50, mostly: 0.9}",
                "mostly lowered from 1 to 0.9",
            ),
        ],
    )
    def test_wider_bounds_fail(
        self, project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, change: str
    ) -> None:
        edit(FACTS, f"kwargs: {old}", f"kwargs: {new}", after="      - name: line_count\n")

        code, out = guard(capsys)

        assert code == 1
        assert out[0].endswith(f"expectation 'expect_column_values_to_be_between(line_count)' weakened: {change}")

    def test_a_grown_value_set_fails(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, "{value_set: [0, 4.99, 9.99]}", "{value_set: [0, 4.99, 9.99, 19.99]}")

        code, out = guard(capsys)

        assert code == 1
        assert out[0].endswith(
            "expectation 'expect_column_values_to_be_in_set(shipping_amount)' weakened: value_set grew by [19.99]"
        )

    def test_a_raised_reconcile_tolerance_fails(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        measures = '              measures: ["count(*)"]\n'
        edit(FACTS, measures, measures + "              tolerance: 2\n", after=FCT_ORDERS)

        code, out = guard(capsys)

        assert code == 1
        assert out[0].endswith("model 'fct_orders': expectation 'reconcile' weakened: tolerance raised from 0 to 2")

    def test_a_strengthening_passes(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, ORDER_ID_UNIQUE, "        data_tests: [unique, not_null]\n", after=FCT_ORDERS)
        edit(FACTS, "{min_value: 1, max_value: 50}", "{min_value: 1, max_value: 40}", after=FCT_ORDERS)

        assert guard(capsys) == (0, [])


class TestContracts:
    def test_contracts_are_left_to_the_contract_guard_and_reported_once(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit(FACTS, "contract: {enforced: true}", "contract: {enforced: false}", after=FCT_ORDERS)

        assert guard(capsys) == (0, [])
        assert contract_guard.main([FACTS]) == 1
        assert f"{FACTS}:{owner_line('fct_orders')}: model 'fct_orders': contract no longer enforced" in (
            capsys.readouterr().out
        )


class TestWaivers:
    def test_the_same_deletion_with_a_waiver_passes_and_is_listed(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = line_of(FACTS, ORDER_ID_UNIQUE, after=FCT_ORDERS)
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        add_waiver("unique(order_id)", "order lines split; see PR 123")

        assert guard(capsys) == (
            0,
            [
                "waived (listed, not failing):",
                f"{FACTS}:{line}: model 'fct_orders': data test 'unique(order_id)' removed - "
                "waived: order lines split; see PR 123",
            ],
        )

    def test_the_summary_lists_the_waived_change(
        self, project: Path, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        summary = tmp_path_factory.mktemp("summary") / "summary.md"
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        add_waiver("unique(order_id)", "order lines split; see PR 123")

        assert guard(capsys, "--summary", str(summary))[0] == 0
        rows = summary.read_text(encoding="utf-8").splitlines()
        assert rows[0].startswith("### Weakening guard (vs ")
        assert rows[-2].startswith("| waived | `dbt/models/marts/facts/_facts.yml:")
        assert rows[-2].endswith(
            "| model 'fct_orders' data test `unique(order_id)` | removed | order lines split; see PR 123 |"
        )

    def test_a_waiver_without_a_reason_does_not_count(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        add_waiver("unique(order_id)", "")

        code, out = guard(capsys)

        assert code == 1
        waiver = line_of(FACTS, '- check: "unique(order_id)"')
        assert out[1].endswith(f"(the waiver at {FACTS}:{waiver} has no reason):")

    def test_a_waiver_left_from_an_earlier_change_does_not_waive_the_next(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        add_waiver("unique(order_id)", "an old reason")
        commit_all(project, "docs: a waiver ahead of time")
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)

        code, out = guard(capsys)

        assert code == 1
        assert "was already in the base revision" in out[1]

    def test_a_waiver_for_another_check_does_not_count(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        add_waiver("unique(customer_key)", "wrong check")

        assert guard(capsys)[0] == 1


class TestBase:
    def test_base_compares_with_a_given_revision(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        commit_all(project, "fix: committed with --no-verify")

        assert guard(capsys) == (0, [])
        code, out = guard(capsys, "--base", "HEAD~1")
        assert code == 1
        assert out[0].endswith("model 'fct_orders': data test 'unique(order_id)' removed")

    def test_base_branch_is_compared_through_the_merge_base(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        git(project, "checkout", "--quiet", "-b", "feat/x")
        edit(FACTS, ORDER_ID_UNIQUE, "", after=FCT_ORDERS)
        commit_all(project, "fix: on the branch")
        git(project, "checkout", "--quiet", "main")
        write(
            project,
            FACTS,
            read(FACTS).replace("        data_tests: [unique]\n", "        data_tests: [unique, not_null]\n"),
        )
        commit_all(project, "feat: main moves on with a new test")
        git(project, "checkout", "--quiet", "feat/x")

        code, out = guard(capsys, "--base", "main")

        assert code == 1
        removed = [line for line in out if not line.startswith(" ")]
        assert [line.split(": ", 1)[1] for line in removed] == [
            "model 'fct_orders': data test 'unique(order_id)' removed"
        ]


class TestPreCommit:
    def test_the_hook_fails_a_commit_that_deletes_a_test(self, pre_commit: PreCommit, gate_repo: Path) -> None:
        models = "dbt/models/staging/shop/_shop__models.yml"
        text = (gate_repo / models).read_text(encoding="utf-8")
        write(gate_repo, models, text.replace("data_tests: [unique, not_null]", "data_tests: [not_null]"))

        result = run_hook(pre_commit, gate_repo, "dbt-weakening-guard", [models])

        assert result.returncode == 1, output_of(result)
        assert f"{models}:8: model 'stg_shop__orders': data test 'unique(order_id)' removed" in output_of(result)

    def test_a_commit_that_only_deletes_a_properties_file_is_checked(
        self, pre_commit: PreCommit, gate_repo: Path
    ) -> None:
        pre_commit.git(gate_repo, "rm", "--quiet", "dbt/models/intermediate/_intermediate.yml")

        result = pre_commit.run(gate_repo, "run", "dbt-weakening-guard")

        assert result.returncode == 1, output_of(result)
        assert "model 'int_orders_enriched': data test 'unique(order_id)' removed" in output_of(result)


INTERMEDIATE = "dbt/models/intermediate/_intermediate.yml"
INT_UNIT_TESTS = "dbt/models/intermediate/_unit_tests.yml"
PRICED = "int_order_lines_priced"
PRICED_TEST = "unit_test(int_order_lines_priced_computes_line_money)"
EXPECT_ROW_1 = (
    "        - {order_line_id: 1, gross_amount: 59.97, net_amount: 56.97, cost_amount: 21.75,\n"
    "           margin_amount: 35.22, is_recognized: true, customer_id: 1, store_id: 5}\n"
)
DIGEST = re.compile(r'^            new_value: \{expect: "sha256:[0-9a-f]{12}"\}$')


def edit_expected_net_amount(new: str) -> None:
    edit(INT_UNIT_TESTS, "net_amount: 56.97", f"net_amount: {new}", after="    expect:\n")


def waive_priced(lines: list[str]) -> None:
    """A waiver under int_order_lines_priced (which has no `config:` yet), its item given as YAML lines."""
    block = "".join(f"            {line}\n" for line in lines)
    edit(
        INTERMEDIATE,
        f"  - name: {PRICED}\n",
        f"  - name: {PRICED}\n    config:\n      meta:\n        quality:\n          waivers:\n{block}",
    )


def pasted_new_value(out: list[str]) -> str:
    """The `new_value:` line of the printed waiver, as the author pastes it."""
    return next(line for line in out if line.lstrip().startswith("new_value: ")).strip()


class TestEditedUnitTests:
    HEADLINE = (
        f"{INT_UNIT_TESTS}:2: model '{PRICED}': unit test '{PRICED_TEST}' changed: "
        "expect row {order_line_id: 1}: net_amount 56.97 -> 56.98"
    )

    def test_an_edited_expect_row_fails_naming_the_check_the_change_and_the_waiver(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit_expected_net_amount("56.98")

        code, out = guard(capsys)

        assert code == 1
        assert out[:3] == [
            self.HEADLINE,
            f"    fix: undo it, or record why in model '{PRICED}' ({INTERMEDIATE}:2), "
            "under `config: meta: quality: waivers:`:",
            f'          - check: "{PRICED_TEST}"',
        ]
        assert DIGEST.match(out[3]), out[3]
        assert out[4:] == [EDIT_PLACEHOLDER]

    def test_the_same_edit_with_the_printed_waiver_passes_and_is_listed(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit_expected_net_amount("56.98")
        new_value = pasted_new_value(guard(capsys)[1])
        waive_priced([f'- check: "{PRICED_TEST}"', f"  {new_value}", '  reason: "discount now rounds up; PR 7"'])

        assert guard(capsys) == (
            0,
            ["waived (listed, not failing):", f"{self.HEADLINE} - waived: discount now rounds up; PR 7"],
        )

    def test_a_waiver_naming_another_new_value_does_not_waive(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit_expected_net_amount("56.99")
        other = pasted_new_value(guard(capsys)[1])
        edit(INT_UNIT_TESTS, "net_amount: 56.99", "net_amount: 56.98")
        waive_priced([f'- check: "{PRICED_TEST}"', f"  {other}", '  reason: "discount now rounds up"'])

        code, out = guard(capsys)

        assert code == 1
        assert out[0] == self.HEADLINE
        waiver_line = line_of(INTERMEDIATE, f'- check: "{PRICED_TEST}"')
        printed = pasted_new_value(out)
        assert printed != other
        written = other.removeprefix("new_value: ").replace("expect", '"expect"')
        assert out[1].endswith(
            f"(the waiver at {INTERMEDIATE}:{waiver_line} names new_value {written}, "
            f"but this change makes it {printed.removeprefix('new_value: ')}):"
        )

    def test_a_waiver_without_new_value_does_not_waive_an_edit(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit_expected_net_amount("56.98")
        printed = pasted_new_value(guard(capsys)[1])
        waive_priced([f'- check: "{PRICED_TEST}"', '  reason: "discount now rounds up"'])

        code, out = guard(capsys)

        assert code == 1
        assert "has no new_value: a changed check's waiver names what it changes to, " + printed in out[1]

    def test_a_reformat_of_the_same_rows_passes(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(  # the two expected rows swapped, keys reordered, values quoted, block style
            INT_UNIT_TESTS,
            EXPECT_ROW_1,
            "",
            after="    expect:\n",
        )
        edit(
            INT_UNIT_TESTS,
            "           margin_amount: 12.74, is_recognized: false, customer_id: 1, store_id: 5}\n",
            "           margin_amount: 12.74, is_recognized: false, customer_id: 1, store_id: 5}\n"
            "        - store_id: 5\n          customer_id: '1'\n          order_line_id: 1\n"
            '          is_recognized: "true"\n          margin_amount: 35.220\n          cost_amount: "21.75"\n'
            "          net_amount: 56.97\n          gross_amount: 59.97\n",
            after="    expect:\n",
        )
        edit(  # a given input as inline CSV instead of dict rows
            INT_UNIT_TESTS,
            "        rows:\n          - {product_id: 100, unit_cost: 7.25}\n",
            "        format: csv\n        rows: |\n          unit_cost,product_id\n          7.250,100\n",
        )

        assert guard(capsys) == (0, [])

    def test_a_given_row_edited_in_a_fixture_file_fails_and_its_reformat_passes(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit(
            INT_UNIT_TESTS,
            "        rows:\n          - {product_id: 100, unit_cost: 7.25}\n",
            "        format: csv\n        fixture: priced_products\n",
        )
        write(project, "dbt/tests/fixtures/priced_products.csv", "product_id,unit_cost\n100,7.25\n")
        commit_all(project, "test: products from a fixture file")
        write(project, "dbt/tests/fixtures/priced_products.csv", "unit_cost , product_id\n7.250 , 100\n\n")
        assert guard(capsys) == (0, [])

        write(project, "dbt/tests/fixtures/priced_products.csv", "product_id,unit_cost\n100,7.50\n")
        code, out = guard(capsys)

        assert code == 1
        assert out[0] == (
            f"{INT_UNIT_TESTS}:2: model '{PRICED}': unit test '{PRICED_TEST}' changed: "
            "given ref('stg_products') row {product_id: 100}: unit_cost 7.25 -> 7.5"
        )
        assert re.fullmatch(r'new_value: \{given: "sha256:[0-9a-f]{12}"\}', pasted_new_value(out))


class TestEditedSingularTests:
    SQL = "dbt/tests/assert_payments_never_exceed_order_total.sql"
    CHECK = "singular_test(assert_payments_never_exceed_order_total)"

    def test_an_edited_condition_fails_and_the_waiver_goes_in_dbt_project_vars(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        edit(self.SQL, "amount_paid > order_total + 0.01", "amount_paid > order_total + 1.00")

        code, out = guard(capsys)

        assert code == 1
        assert out[:3] == [
            f"{self.SQL}:1: project: singular test '{self.CHECK}' changed: sql "
            "`amount_paid > order_total + 0.01 or amount_refunded > order_total` -> "
            "`amount_paid > order_total + 1.00 or amount_refunded > order_total`",
            f"    fix: undo it, or record why in dbt_project.yml (dbt/dbt_project.yml:{line_of('dbt/dbt_project.yml', 'vars:')}), "
            "under `vars: quality: waivers:`:",
            f'          - check: "{self.CHECK}"',
        ]
        assert re.fullmatch(r'new_value: \{sql: "sha256:[0-9a-f]{12}"\}', pasted_new_value(out))
        edit(
            "dbt/dbt_project.yml",
            "vars:\n",
            f'vars:\n  quality:\n    waivers:\n      - check: "{self.CHECK}"\n        {pasted_new_value(out)}\n'
            '        reason: "split payments round to the dollar"\n',
        )
        assert guard(capsys)[0] == 0

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("where\n    amount_paid", "-- the condition:\nwhere amount_paid"),
            (
                "    or amount_refunded > order_total + 0.01",
                "\tOR/* refunds */amount_refunded>order_total+0.01 {# j #}",
            ),
            ("-- Captured payments never exceed", "-- Paid amounts never exceed"),
            ("select\n", "{{ config(tags=['finance']) }}\nSELECT\n"),
        ],
    )
    def test_a_comment_or_whitespace_only_edit_passes(
        self, project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str
    ) -> None:
        edit(self.SQL, old, new)

        assert guard(capsys) == (0, [])


ROW_COUNT = "                  kwargs: {value: 100}\n"


class TestEditedExpectations:
    def add_row_count(self, project: Path) -> None:
        edit(
            FACTS,
            "          expectations:\n",
            "          expectations:\n            - expectation: expect_table_row_count_to_equal\n"
            + ROW_COUNT.replace("                  ", "              "),
            after=FCT_ORDERS,
        )
        commit_all(project, "test: a row count")

    def test_an_edited_expected_value_fails_and_passes_with_its_waiver(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.add_row_count(project)
        edit(FACTS, "{value: 100}", "{value: 120}")
        line = line_of(FACTS, "- expectation: expect_table_row_count_to_equal")

        assert guard(capsys) == (
            1,
            [
                f"{FACTS}:{line}: model 'fct_orders': expectation 'expect_table_row_count_to_equal' changed: "
                "value 100 -> 120",
                *fix("undo it", "expect_table_row_count_to_equal", new_value="{value: 120}"),
            ],
        )
        add_waiver("expect_table_row_count_to_equal", "orders now include drafts", new_value="{value: 110}")
        code, out = guard(capsys)
        assert code == 1
        assert 'names new_value {"value": 110}, but this change makes it {value: 120}' in out[1]

        edit(FACTS, "new_value: {value: 110}", "new_value: {value: 120}")
        assert guard(capsys)[0] == 0

    @pytest.mark.parametrize(
        ("old", "new", "change"),
        [
            (
                'measures: ["count(*)"]',
                'measures: ["count(distinct order_id)"]',
                "measures `count(*)` -> `count(distinct order_id)`",
            ),
            (
                'against: "{source:raw.orders}"',
                'against: "{ref:stg_orders}"',
                "against `{source:raw.orders}` -> `{ref:stg_orders}`",
            ),
            ("{value_set: [0, 4.99, 9.99]}", "{value_set: [0, 4.99]}", "value_set lost [9.99]"),
            (
                'condition: "order_date = cast(ordered_at as date)"',
                'condition: "order_date >= cast(ordered_at as date)"',
                "condition `order_date = cast(ordered_at as` -> `order_date >= cast(ordered_at as`",
            ),
        ],
    )
    def test_any_change_of_what_an_expectation_expects_fails(
        self, project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, change: str
    ) -> None:
        edit(FACTS, old, new)

        code, out = guard(capsys)

        assert code == 1
        assert out[0].endswith(f" changed: {change}")

    def test_a_reformatted_value_set_and_query_pass(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        edit(FACTS, "{value_set: [0, 4.99, 9.99]}", "{value_set: [9.99, 0.0, 4.990]}")
        edit(
            FACTS,
            "                where amount_paid > order_total + 0.01\n",
            "                where amount_paid>order_total+0.01  -- a cent\n",
        )

        assert guard(capsys) == (0, [])


class TestEditsInPreCommit:
    def test_the_hook_fails_a_commit_that_edits_a_singular_test_condition(
        self, pre_commit: PreCommit, gate_repo: Path
    ) -> None:
        sql = "dbt/tests/assert_orders_have_customers.sql"
        body = "select order_id\nfrom {{ ref('int_orders_enriched') }}\nwhere customer_id is null\n"
        write(gate_repo, sql, body)
        commit_all(gate_repo, "test: orders have customers", pre_commit.env)
        write(gate_repo, sql, "-- orders whose customer is unknown\n" + body.replace("\n", "\n  "))
        assert run_hook(pre_commit, gate_repo, "dbt-weakening-guard", [sql]).returncode == 0

        write(gate_repo, sql, body.replace("is null", "is null and order_id > 100"))
        result = run_hook(pre_commit, gate_repo, "dbt-weakening-guard", [sql])

        assert result.returncode == 1, output_of(result)
        assert (
            f"{sql}:1: project: singular test 'singular_test(assert_orders_have_customers)' changed: sql "
            "`where customer_id is null` -> `where customer_id is null and order_id > 100`"
        ) in output_of(result)
