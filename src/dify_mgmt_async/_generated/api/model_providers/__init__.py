# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""Contains endpoint functions for accessing the API"""
