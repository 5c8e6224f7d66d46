"""``_output``: ``plain`` (wire names, nested models, enums, UNSET left out, secrets hidden unless revealed) and the
table mode showing server text verbatim."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import typer

from dify_mgmt_async import ApiKeyCreated, ApiKeyResetType, App, AppApiKeysReset, AppPage
from dify_mgmt_async.cli._output import HIDDEN, Printer, plain
from dify_mgmt_async.cli._upload import LocalFile, _hashes


def test_nested_secrets_hidden_and_wire_names_kept() -> None:
    base = {"id": "a1", "name": "bot", "mode": "chat", "icon": None, "icon_background": None, "description": None}
    app = App.from_dict({**base, "created_at": 1, "api_key": "app-k", "api_secret": "s3cret"})
    page = AppPage.from_dict({"data": [app.to_dict()], "page": 1, "limit": 20, "total": 1, "has_more": False})
    data = plain(page)
    assert data["data"] == [{**base, "created_at": 1, "api_key": "app-k", "api_secret": HIDDEN}]
    assert (data["page"], data["total"], data["has_more"]) == (1, 1, False)
    assert plain(page, reveal=True)["data"][0]["api_secret"] == "s3cret"
    assert "s3cret" not in repr(plain(page))


def test_renamed_fields_use_the_wire_name_and_enums_their_value() -> None:
    assert plain(AppApiKeysReset(type_=ApiKeyResetType.API_SECRET)) == {"type": "api_secret"}


def test_new_key_token_hidden_unless_revealed() -> None:
    key = ApiKeyCreated(id="k1", name="ci", token="dify-pat-xyz", created_at=1, expires_at=None)
    assert plain(key) == {"id": "k1", "name": "ci", "token": HIDDEN, "created_at": 1, "expires_at": None}
    assert plain(key, reveal=True)["token"] == "dify-pat-xyz"


def test_a_file_gone_before_hashing_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = LocalFile(tmp_path / "gone.txt", "gone.txt", 3, 1)
    with pytest.raises(typer.Exit) as info:
        anyio.run(_hashes, [gone], {}, False)
    assert info.value.exit_code == 1
    assert capsys.readouterr().err == f"file_error: {gone.path}: No such file or directory\n"


MARKUP = "[/red] [bold]x[/bold] :smile: [link=https://example.com]y[/link]"
"""Text rich would read as markup (a closing tag with no opening one is a MarkupError) and emoji codes."""


def test_a_one_value_record_is_printed_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    """A result that is neither a mapping nor a list is one line, as the server sent it (before the fix, the
    closing tag crashed the command with MarkupError)."""
    Printer("table").result(MARKUP)
    assert capsys.readouterr().out == MARKUP + "\n"


def test_a_record_s_keys_and_values_and_a_page_s_paging_line_are_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    """Keys too come from the server (fields the spec does not name): each key and value of a record, and the
    paging fields printed under a page's table, are shown as sent."""
    printer = Printer("table")
    printer.result({"[b]key[/b]": MARKUP})
    lines = capsys.readouterr().out.splitlines()
    assert [line.rstrip().split(maxsplit=1) for line in lines] == [["[b]key[/b]", MARKUP]]
    printer.result({"data": [], "limit": 20, "cursor": "[/dim] :smile:"})
    assert capsys.readouterr().out.splitlines()[-1] == "limit: 20  cursor: [/dim] :smile:"
