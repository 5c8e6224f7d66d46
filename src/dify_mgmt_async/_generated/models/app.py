# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.app_mode import AppMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="App")


@_attrs_define
class App:
    """An app. `api_key` and `api_secret` are present only in the answer to a create. Required are the fields of the
    contract's app examples.

        Attributes:
            id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
                valid UUIDs.
            name (str): The app's name.
            mode (AppMode | str): An app's mode as a server reports it; a value outside `AppMode` (such as `advanced-chat`)
                is kept as a string.
            icon (None | str): An icon identifier or emoji.
            icon_background (None | str): The icon's background, a hex colour.
            description (None | str): What the app does.
            created_at (int): Unix time in seconds.
            api_key (str | Unset): The app's front-end key; only in the answer to a create.
            api_secret (str | Unset): The app's back-end secret; only in the answer to a create. Hidden from `repr`.
    """

    id: str
    name: str
    mode: AppMode | str
    icon: None | str
    icon_background: None | str
    description: None | str
    created_at: int
    api_key: str | Unset = UNSET
    api_secret: str | Unset = _attrs_field(default=UNSET, repr=False)
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        mode: str
        if isinstance(self.mode, AppMode):
            mode = self.mode.value
        else:
            mode = self.mode

        icon: None | str
        icon = self.icon

        icon_background: None | str
        icon_background = self.icon_background

        description: None | str
        description = self.description

        created_at = self.created_at

        api_key = self.api_key

        api_secret = self.api_secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "mode": mode,
                "icon": icon,
                "icon_background": icon_background,
                "description": description,
                "created_at": created_at,
            }
        )
        if api_key is not UNSET:
            field_dict["api_key"] = api_key
        if api_secret is not UNSET:
            field_dict["api_secret"] = api_secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        mode = d.pop("mode")
        if isinstance(mode, str):
            mode = AppMode._value2member_map_.get(mode, mode)

        icon = d.pop("icon")

        icon_background = d.pop("icon_background")

        description = d.pop("description")

        created_at = d.pop("created_at")

        api_key = d.pop("api_key", UNSET)

        api_secret = d.pop("api_secret", UNSET)

        app = cls(
            id=id,
            name=name,
            mode=mode,
            icon=icon,
            icon_background=icon_background,
            description=description,
            created_at=created_at,
            api_key=api_key,
            api_secret=api_secret,
        )

        app.additional_properties = d
        return app

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
