# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.app_mode import AppMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="App")


@_attrs_define
class App:
    """An app. `api_key` and `api_secret` are present only in the answer to a create.

    Attributes:
        id (str): A resource id. Documented as a UUID, typed as a string, since the contract's own examples are not
            valid UUIDs.
        name (str): The app's name.
        mode (AppMode | str): An app's mode as a server reports it; a value outside `AppMode` (such as `advanced-chat`)
            is kept as a string.
        icon (None | str | Unset): An icon identifier or emoji.
        icon_background (None | str | Unset): The icon's background, a hex colour.
        description (None | str | Unset): What the app does.
        api_key (str | Unset): The app's front-end key; only in the answer to a create.
        api_secret (str | Unset): The app's back-end secret; only in the answer to a create. Hidden from `repr`.
        created_at (int | Unset): Unix time in seconds.
    """

    id: str
    name: str
    mode: AppMode | str
    icon: None | str | Unset = UNSET
    icon_background: None | str | Unset = UNSET
    description: None | str | Unset = UNSET
    api_key: str | Unset = UNSET
    api_secret: str | Unset = _attrs_field(default=UNSET, repr=False)
    created_at: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        mode: str
        if isinstance(self.mode, AppMode):
            mode = self.mode.value
        else:
            mode = self.mode

        icon: None | str | Unset
        if isinstance(self.icon, Unset):
            icon = UNSET
        else:
            icon = self.icon

        icon_background: None | str | Unset
        if isinstance(self.icon_background, Unset):
            icon_background = UNSET
        else:
            icon_background = self.icon_background

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        api_key = self.api_key

        api_secret = self.api_secret

        created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "mode": mode,
            }
        )
        if icon is not UNSET:
            field_dict["icon"] = icon
        if icon_background is not UNSET:
            field_dict["icon_background"] = icon_background
        if description is not UNSET:
            field_dict["description"] = description
        if api_key is not UNSET:
            field_dict["api_key"] = api_key
        if api_secret is not UNSET:
            field_dict["api_secret"] = api_secret
        if created_at is not UNSET:
            field_dict["created_at"] = created_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        def _parse_mode(data: object) -> AppMode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_app_mode_value_type_0 = AppMode(data)

                return componentsschemas_app_mode_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AppMode | str, data)

        mode = _parse_mode(d.pop("mode"))

        def _parse_icon(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        icon = _parse_icon(d.pop("icon", UNSET))

        def _parse_icon_background(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        icon_background = _parse_icon_background(d.pop("icon_background", UNSET))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        api_key = d.pop("api_key", UNSET)

        api_secret = d.pop("api_secret", UNSET)

        created_at = d.pop("created_at", UNSET)

        app = cls(
            id=id,
            name=name,
            mode=mode,
            icon=icon,
            icon_background=icon_background,
            description=description,
            api_key=api_key,
            api_secret=api_secret,
            created_at=created_at,
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
