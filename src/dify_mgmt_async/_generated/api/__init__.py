# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""Contains methods for accessing the API"""
