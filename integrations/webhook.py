"""The webhook client: one JSON post (Slack's {"text": ...}) to a URL, answered or refused.

A 4xx other than 408 and 429 will never work as it is (`WebhookRefused`); a timeout, a
408, a 429 or a 5xx may work later (`WebhookUnavailable`). Retrying is the outbox's.
"""

from __future__ import annotations

from typing import Any

import requests


class WebhookUnavailable(Exception):
    """Worth trying again later."""


class WebhookRefused(Exception):
    """The receiver refused the post for good."""


def post(url: str, body: dict[str, Any], *, timeout: float) -> None:
    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise WebhookUnavailable(f"webhook unreachable: {exc}") from exc
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise WebhookUnavailable(f"webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise WebhookRefused(f"webhook refused the post: {response.status_code} {response.text[:200]}")
