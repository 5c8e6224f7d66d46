"""``dify-mgmt <namespace> <method>``: every generated command against the emulator, exit codes, errors, secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from dify_mgmt_async.cli._commands import REVEAL_NOTE, operations
from dify_mgmt_async.cli._output import HIDDEN
from dify_mgmt_async.emulator.server import EmulatorServer

from .conftest import Cli, flat, invoke


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_every_generated_command_runs_once(cli: Cli, dify_emulator_server: EmulatorServer, tmp_path: Path) -> None:
    """Each operation's command runs against the emulator and prints the answer as JSON (the default off a TTY)."""
    ran: set[str] = set()

    def run(*args: str) -> Any:
        ran.add(f"{args[0]} {args[1]}")
        return as_json(cli(*args))

    app = run("apps", "create", "--name", "客服助手", "--mode", "chat", "--description", "bot")
    assert (app["name"], app["mode"], app["description"]) == ("客服助手", "chat", "bot")
    assert run("apps", "get", app["id"])["id"] == app["id"]
    assert run("apps", "update", app["id"], "--description", "new")["description"] == "new"
    assert run("apps", "list", "--mode", "chat", "--limit", "5")["data"][0]["id"] == app["id"]
    keys = run("apps", "get-api-keys", app["id"])
    assert keys["api_secret"] == HIDDEN and keys["api_key"].startswith("app-")
    reset = run("apps", "reset-api-keys", app["id"], "--type", "api_key")
    assert reset["api_key"] != keys["api_key"]

    ds = run("datasets", "create", "--name", "手册", "--permission", "all_team_members")
    assert ds["permission"] == "all_team_members"
    assert run("datasets", "get", ds["id"])["name"] == "手册"
    assert run("datasets", "update", ds["id"], "--description", "faq")["description"] == "faq"
    assert [d["id"] for d in run("datasets", "list")["data"]] == [ds["id"]]
    file = tmp_path / "faq.md"
    file.write_text("# FAQ\nhello\n", encoding="utf-8")
    doc = run("datasets", "upload-document", ds["id"], str(file), "--process-rule", '{"chunk_size": 500}')
    assert doc["name"] == "faq.md"
    waited = run("datasets", "wait-for-indexing", ds["id"], doc["id"], "--poll-interval", "0.05")
    assert [(d["id"], d["indexing_status"]) for d in waited] == [(doc["id"], "completed")]
    assert [d["id"] for d in run("datasets", "list-documents", ds["id"], "--status", "completed")["data"]] == [
        doc["id"]
    ]
    assert run("datasets", "delete-document", ds["id"], doc["id"]) == {"result": "success"}

    assert "gpt-4o" in {m["id"] for m in run("models", "list")["data"]}
    creds = run("model-providers", "update-credentials", "openai", "--credentials", '{"openai_api_key": "sk-x"}')
    assert creds == {"result": "success"}
    assert {p["provider"]: p["is_configured"] for p in run("model-providers", "list")["data"]}["openai"] is True
    assert run("workspaces", "update-current", "--name", "Acme", "--plan-settings", "{}")["name"] == "Acme"
    assert run("workspaces", "get-current")["name"] == "Acme"
    assert run("users", "get-current")["role"] == "owner"

    key = run("api-keys", "create", "--name", "ci")
    assert key["token"].startswith("dify-pat-")  # shown once, in full: the one exception
    listed = run("api-keys", "list")["data"]
    assert key["id"] in [k["id"] for k in listed]
    assert key["token"] not in json.dumps(listed)
    assert run("api-keys", "delete", key["id"]) == {"result": "success"}
    assert run("datasets", "delete", ds["id"]) == {"result": "success"}
    assert run("apps", "delete", app["id"]) == {"result": "success"}

    assert ran == {op.command for op in operations()}
    assert dify_emulator_server.token not in json.dumps(sorted(ran))


def test_all_streams_every_page_as_ndjson(cli: Cli) -> None:
    """`--all` follows every page: 25 apps with --limit 10 are 25 NDJSON lines, newest first, none twice."""
    names = [f"app-{i:02}" for i in range(25)]
    for name in names:
        as_json(cli("apps", "create", "--name", name, "--mode", "chat"))
    result = cli("apps", "list", "--limit", "10", "--all")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [json.loads(line)["name"] for line in lines] == names[::-1]
    table = cli("--output", "table", "apps", "list", "--limit", "10", "--all")
    assert table.exit_code == 0 and all(name in table.stdout for name in names)


def test_output_modes(cli: Cli) -> None:
    """json is indented, ndjson one line per result, table a key/value table."""
    as_json(cli("datasets", "create", "--name", "kb"))
    page = cli("--output", "ndjson", "datasets", "list")
    assert page.exit_code == 0 and len(page.stdout.splitlines()) == 1
    assert json.loads(page.stdout)["total"] == 1
    record = cli("-o", "table", "users", "get-current")
    assert record.exit_code == 0 and "role" in record.stdout and "owner" in record.stdout


def test_api_error_404_is_one_line_and_exit_1(cli: Cli) -> None:
    result = cli("apps", "get", "missing")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "not_found: App not found (HTTP 404)\n")


def test_api_error_401_is_one_line_and_exit_1(cli: Cli) -> None:
    result = cli("users", "get-current", DIFY_MGMT_TOKEN="wrong-token")
    assert (result.exit_code, result.stderr) == (1, "unauthorized: Invalid or expired token (HTTP 401)\n")
    assert "wrong-token" not in result.stdout + result.stderr


def test_verbose_adds_the_traceback(cli: Cli) -> None:
    result = cli("-v", "apps", "get", "missing")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("not_found: App not found (HTTP 404)")
    assert "GET http://127.0.0.1" in result.stderr and "-> 404" in result.stderr  # the SDK's log line per attempt


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ("apps", "create", "--name", "x", "--mode", "chat", "--icon-background", "red"),
            "invalid_argument: icon_background: must match ^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$ (got 'red')\n",
        ),
        (
            ("apps", "list", "--limit", "500"),
            "invalid_argument: limit: must be between 1 and 100 (got 500)\n",
        ),
    ],
)
def test_sdk_bad_input_is_exit_2_and_nothing_sent(
    cli: Cli, dify_emulator_server: EmulatorServer, args: tuple[str, ...], stderr: str
) -> None:
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (2, stderr)
    assert sum(dify_emulator_server.stats()["requests"].values()) == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("apps", "create", "--name", "x", "--mode", "chatbot"), "'chatbot' is not one of"),
        (("apps", "create", "--mode", "chat"), "Missing option '--name'"),
        (("model-providers", "update-credentials", "openai", "--credentials", "{oops"), "not valid JSON"),
        (("model-providers", "update-credentials", "openai", "--credentials", "[1]"), "must be a JSON object"),
        (("datasets", "upload-document", "ds", "/no/such/file.txt"), "does not exist"),
        (("apps", "nope"), "No such command 'nope'"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...], fragment: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert fragment in flat(result.stderr)


def test_missing_configuration_is_exit_2() -> None:
    """No --base-url and no DIFY_MGMT_BASE_URL: the SDK's ConfigurationError, exit 2, naming the variable."""
    result = invoke("users", "get-current")
    assert result.exit_code == 2
    assert result.stderr == (
        "configuration_error: base_url: not given, and the environment variable DIFY_MGMT_BASE_URL is not set\n"
    )


def test_help_at_every_level_without_a_server() -> None:
    """`--help` of the root, each namespace and each command works with no server and no configuration."""
    root = invoke("--help")
    assert root.exit_code == 0 and "datasets" in root.stdout and "emulator" in root.stdout
    namespaces = {op.command.split()[0] for op in operations()}
    for namespace in namespaces:
        result = invoke(namespace, "--help")
        assert result.exit_code == 0, result.stderr
    for op in operations():
        result = invoke(*op.command.split(), "--help")
        assert result.exit_code == 0, (op.command, result.stderr)
        assert op.summary.split(":")[0] in result.stdout
    upload = invoke("datasets", "upload", "--help")
    assert upload.exit_code == 0 and "--replace-changed" in upload.stdout


REVEALING = {"api-keys create", "apps reset-api-keys"}


def test_only_the_commands_making_a_new_secret_reveal_and_their_help_says_so() -> None:
    note = " ".join(REVEAL_NOTE.split())
    for command in REVEALING:
        assert note in " ".join(invoke(*command.split(), "--help").stdout.split()), command
    others = [op for op in operations() if op.command not in REVEALING]
    assert all(note not in " ".join(invoke(*op.command.split(), "--help").stdout.split()) for op in others)


@pytest.mark.parametrize("reset", ["api_secret", "api_key"])
def test_reset_api_keys_prints_the_new_value_in_full(
    cli: Cli, dify_emulator_server: EmulatorServer, reset: str
) -> None:
    """The reset's answer is the new key or secret, and the only copy of a new api_secret (hidden, as it was
    before the fix, the CLI lost it): printed in full, exactly what the server now holds, the other one left out."""
    app = as_json(cli("apps", "create", "--name", "bot", "--mode", "chat"))
    answer = as_json(cli("apps", "reset-api-keys", app["id"], "--type", reset))
    stored = dify_emulator_server.store.apps[app["id"]]
    assert answer == {reset: getattr(stored, reset)}
    assert answer[reset] not in ("", HIDDEN)


def test_secret_fields_are_hidden(cli: Cli) -> None:
    """`apps create` answers with api_secret: hidden; the api key (not a secret in the spec) is shown."""
    app = as_json(cli("apps", "create", "--name", "bot", "--mode", "chat"))
    assert app["api_secret"] == HIDDEN
    assert app["api_key"].startswith("app-")


def test_global_options_are_used(cli: Cli, dify_emulator_server: EmulatorServer) -> None:
    """--base-url and --token override the environment."""
    result = invoke(
        "--base-url", dify_emulator_server.base_url, "--token", dify_emulator_server.token, "users", "get-current"
    )
    assert as_json(result)["role"] == "owner"


NAMES = ["[/red]", "[bold]x[/bold]", ":smile:", "[link=https://example.com]y[/link]"]
"""Names rich would read as markup (a closing tag with no opening one crashed the command with MarkupError; the
others were shown changed: "x", an emoji, "y") if the table passed them to rich as plain strings."""


def table_rows(stdout: str) -> list[list[str]]:
    """The cells of each body row of a rich table (its header row first)."""
    return [
        [cell.strip() for cell in line.split("│" if "│" in line else "┃")[1:-1]]
        for line in stdout.splitlines()
        if line.startswith(("│", "┃"))
    ]


@pytest.mark.parametrize("all_pages", [False, True], ids=["a page", "--all"])
def test_a_table_shows_server_text_verbatim(cli: Cli, all_pages: bool) -> None:
    """`-o table apps list` (one page, or `--all`): names and descriptions exactly as stored."""
    for name in NAMES:
        as_json(cli("apps", "create", "--name", name, "--mode", "chat", "--description", name))
    result = cli("-o", "table", "apps", "list", "--limit", "2", *(["--all"] if all_pages else []))
    assert (result.exit_code, result.stderr) == (0, "")
    header, *rows = table_rows(result.stdout)
    assert header[:2] == ["id", "name"] and header[5] == "description"
    assert [(row[1], row[5]) for row in rows] == [(name, name) for name in (NAMES[::-1] if all_pages else NAMES[:1:-1])]


def test_control_characters_in_server_text_are_shown_not_sent_to_the_terminal(cli: Cli) -> None:
    """A name holding an escape sequence (or a bell) is shown with its control characters as \\xNN, in a table and a
    record: sent as they were, they would recolour, move or clear the user's terminal."""
    name = "evil\x1b[2J\x1b]0;pwned\x07name"
    app = as_json(cli("apps", "create", "--name", name, "--mode", "chat"))
    for args in (("apps", "list"), ("apps", "get", app["id"])):
        result = cli("-o", "table", *args)
        assert (result.exit_code, result.stderr) == (0, ""), args
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, args
        assert "evil\\x1b[2J\\x1b]0;pwned\\x07name" in result.stdout, args
    assert as_json(cli("-o", "json", "apps", "get", app["id"]))["name"] == name  # JSON keeps the text as it is


def test_a_record_table_shows_server_text_verbatim(cli: Cli) -> None:
    app = as_json(cli("apps", "create", "--name", NAMES[0], "--mode", "chat", "--description", NAMES[1]))
    result = cli("-o", "table", "apps", "get", app["id"])
    assert (result.exit_code, result.stderr) == (0, "")
    record = {key: value.strip() for key, _, value in (line.partition(" ") for line in result.stdout.splitlines())}
    assert (record["name"], record["description"]) == (NAMES[0], NAMES[1])


def test_wait_for_indexing_as_a_table_is_a_row_per_document(cli: Cli, tmp_path: Path) -> None:
    """A list answer in table mode is a table (a row per document, as a page's items), its text verbatim; before
    the fix it was one JSON line given to rich as markup (a document named "[bold]f.md" shown as "f.md")."""
    ds = as_json(cli("datasets", "create", "--name", "kb"))
    file = tmp_path / "[bold]f.md"
    file.write_text("# FAQ\n", encoding="utf-8")
    doc = as_json(cli("datasets", "upload-document", ds["id"], str(file)))
    result = cli("-o", "table", "datasets", "wait-for-indexing", ds["id"], doc["id"], "--poll-interval", "0.05")
    assert (result.exit_code, result.stderr) == (0, "")
    header, *rows = table_rows(result.stdout)
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(c["id"], c["name"], c["indexing_status"]) for c in cells] == [(doc["id"], "[bold]f.md", "completed")]
