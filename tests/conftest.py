"""Shared pytest configuration."""

from tests.fake_fixtures import fake_api

__all__ = ["fake_api"]
