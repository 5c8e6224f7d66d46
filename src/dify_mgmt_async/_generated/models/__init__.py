# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""Contains all the data models used in inputs/outputs"""

from .api_key import ApiKey
from .api_key_create import ApiKeyCreate
from .api_key_created import ApiKeyCreated
from .api_key_page import ApiKeyPage
from .api_key_reset_type import ApiKeyResetType
from .app import App
from .app_api_keys import AppApiKeys
from .app_api_keys_reset import AppApiKeysReset
from .app_create import AppCreate
from .app_mode import AppMode
from .app_new_api_key import AppNewApiKey
from .app_page import AppPage
from .app_update import AppUpdate
from .cursor_envelope import CursorEnvelope
from .dataset import Dataset
from .dataset_create import DatasetCreate
from .dataset_page import DatasetPage
from .dataset_permission import DatasetPermission
from .dataset_update import DatasetUpdate
from .document import Document
from .document_page import DocumentPage
from .document_upload import DocumentUpload
from .error import Error
from .error_code import ErrorCode
from .indexing_status import IndexingStatus
from .model import Model
from .model_list import ModelList
from .model_parameter_rules import ModelParameterRules
from .model_pricing import ModelPricing
from .model_provider import ModelProvider
from .model_provider_list import ModelProviderList
from .page_envelope import PageEnvelope
from .process_rule import ProcessRule
from .provider_credentials_update import ProviderCredentialsUpdate
from .provider_credentials_update_credentials import ProviderCredentialsUpdateCredentials
from .result import Result
from .user import User
from .workspace import Workspace
from .workspace_features import WorkspaceFeatures
from .workspace_update import WorkspaceUpdate
from .workspace_update_plan_settings import WorkspaceUpdatePlanSettings
from .workspace_usage import WorkspaceUsage

__all__ = (
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPage",
    "ApiKeyResetType",
    "App",
    "AppApiKeys",
    "AppApiKeysReset",
    "AppCreate",
    "AppMode",
    "AppNewApiKey",
    "AppPage",
    "AppUpdate",
    "CursorEnvelope",
    "Dataset",
    "DatasetCreate",
    "DatasetPage",
    "DatasetPermission",
    "DatasetUpdate",
    "Document",
    "DocumentPage",
    "DocumentUpload",
    "Error",
    "ErrorCode",
    "IndexingStatus",
    "Model",
    "ModelList",
    "ModelParameterRules",
    "ModelPricing",
    "ModelProvider",
    "ModelProviderList",
    "PageEnvelope",
    "ProcessRule",
    "ProviderCredentialsUpdate",
    "ProviderCredentialsUpdateCredentials",
    "Result",
    "User",
    "Workspace",
    "WorkspaceFeatures",
    "WorkspaceUpdate",
    "WorkspaceUpdatePlanSettings",
    "WorkspaceUsage",
)
