"""`feed_url` for API schemas of other features (accounts, agencies, rooms)."""
from __future__ import annotations

from marshmallow import fields


class FeedUrl(fields.Field):
    """The object's subscription feed URL if the API caller may have it, else null."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(dump_only=True, allow_none=True, metadata={
            "description": "日历订阅地址（webcal 可用）；无权查看时为 null"}, **kwargs)
        self.kind = kind

    def _serialize(self, value, attr, obj, **kwargs):
        from coord.api import current_api_user
        from coord.calendar.services import feed_url_for

        return feed_url_for(current_api_user(), self.kind, obj.id)

    def get_value(self, obj, attr, accessor=None, default=None):
        return obj  # the whole object: the URL depends on its id and the caller
