# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.model_parameter_rules import ModelParameterRules
    from ..models.model_pricing import ModelPricing


T = TypeVar("T", bound="Model")


@_attrs_define
class Model:
    """A model the workspace can use; every field of the contract's table is required.

    Attributes:
        id (str): The model's identifier.
        name (str): The model's display name.
        model_type (str): Such as `llm`, `text-embedding`, `rerank`.
        provider (str): The provider's identifier.
        features (list[str]): Features the model supports, such as `vision`.
        parameter_rules (ModelParameterRules): The model's parameters and their limits; free-form.
        pricing (ModelPricing): Price information; free-form.
    """

    id: str
    name: str
    model_type: str
    provider: str
    features: list[str]
    parameter_rules: ModelParameterRules
    pricing: ModelPricing
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        model_type = self.model_type

        provider = self.provider

        features = self.features

        parameter_rules = self.parameter_rules.to_dict()

        pricing = self.pricing.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "model_type": model_type,
                "provider": provider,
                "features": features,
                "parameter_rules": parameter_rules,
                "pricing": pricing,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.model_parameter_rules import ModelParameterRules  # noqa: PLC0415
        from ..models.model_pricing import ModelPricing  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        model_type = d.pop("model_type")

        provider = d.pop("provider")

        features = cast(list[str], d.pop("features"))

        parameter_rules = ModelParameterRules.from_dict(d.pop("parameter_rules"))

        pricing = ModelPricing.from_dict(d.pop("pricing"))

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
