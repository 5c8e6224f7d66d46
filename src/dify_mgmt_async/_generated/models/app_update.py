# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AppUpdate")


@_attrs_define
class AppUpdate:
    """Changes to an app; fields left out keep their value.

    Attributes:
        name (str | Unset): The app's name; unique in the workspace.
        icon (str | Unset): An icon identifier or emoji.
        icon_background (str | Unset): A hex colour, `#rgb` or `#rrggbb`.
        description (str | Unset): What the app does.
    """

    name: str | Unset = UNSET
    icon: str | Unset = UNSET
    icon_background: str | Unset = UNSET
    description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        icon = self.icon

        icon_background = self.icon_background

        description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if icon is not UNSET:
            field_dict["icon"] = icon
        if icon_background is not UNSET:
            field_dict["icon_background"] = icon_background
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name", UNSET)

        icon = d.pop("icon", UNSET)

        icon_background = d.pop("icon_background", UNSET)

        description = d.pop("description", UNSET)

        app_update = cls(
            name=name,
            icon=icon,
            icon_background=icon_background,
            description=description,
        )

        return app_update
