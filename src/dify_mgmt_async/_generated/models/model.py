# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.model_parameter_rules import ModelParameterRules
    from ..models.model_pricing import ModelPricing


T = TypeVar("T", bound="Model")


@_attrs_define
class Model:
    """A model the workspace can use.

    Attributes:
        id (str): The model's identifier.
        name (str): The model's display name.
        model_type (str | Unset): Such as `llm`, `text-embedding`, `rerank`.
        provider (str | Unset): The provider's identifier.
        features (list[str] | Unset): Features the model supports, such as `vision`.
        parameter_rules (ModelParameterRules | Unset): The model's parameters and their limits; free-form.
        pricing (ModelPricing | Unset): Price information; free-form.
    """

    id: str
    name: str
    model_type: str | Unset = UNSET
    provider: str | Unset = UNSET
    features: list[str] | Unset = UNSET
    parameter_rules: ModelParameterRules | Unset = UNSET
    pricing: ModelPricing | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        model_type = self.model_type

        provider = self.provider

        features: list[str] | Unset = UNSET
        if not isinstance(self.features, Unset):
            features = self.features

        parameter_rules: dict[str, Any] | Unset = UNSET
        if not isinstance(self.parameter_rules, Unset):
            parameter_rules = self.parameter_rules.to_dict()

        pricing: dict[str, Any] | Unset = UNSET
        if not isinstance(self.pricing, Unset):
            pricing = self.pricing.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
            }
        )
        if model_type is not UNSET:
            field_dict["model_type"] = model_type
        if provider is not UNSET:
            field_dict["provider"] = provider
        if features is not UNSET:
            field_dict["features"] = features
        if parameter_rules is not UNSET:
            field_dict["parameter_rules"] = parameter_rules
        if pricing is not UNSET:
            field_dict["pricing"] = pricing

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.model_parameter_rules import ModelParameterRules  # noqa: PLC0415
        from ..models.model_pricing import ModelPricing  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        model_type = d.pop("model_type", UNSET)

        provider = d.pop("provider", UNSET)

        features = cast(list[str], d.pop("features", UNSET))

        _parameter_rules = d.pop("parameter_rules", UNSET)
        parameter_rules: ModelParameterRules | Unset
        if isinstance(_parameter_rules, Unset):
            parameter_rules = UNSET
        else:
            parameter_rules = ModelParameterRules.from_dict(_parameter_rules)

        _pricing = d.pop("pricing", UNSET)
        pricing: ModelPricing | Unset
        if isinstance(_pricing, Unset):
            pricing = UNSET
        else:
            pricing = ModelPricing.from_dict(_pricing)

        model = cls(
            id=id,
            name=name,
            model_type=model_type,
            provider=provider,
            features=features,
            parameter_rules=parameter_rules,
            pricing=pricing,
        )

        model.additional_properties = d
        return model

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
