"""Text messages (SMS) through the district's HTTP SMS gateway (短信平台).

The gateway is configured by URL (`SMS_GATEWAY_URL`, environment `COORD_SMS_GATEWAY_URL`) and an
optional bearer token (`SMS_GATEWAY_TOKEN`). One message is one POST of JSON:

    {"id": "<outbox Message-ID>", "mobile": "13800000000", "content": "【签名】text", "sign": "签名"}

with `Idempotency-Key: <id>`, so a gateway that remembers keys drops a repeated attempt. A 2xx answer
is success; 408, 425, 429 and 5xx (and a refused connection or a timeout) are temporary and retried with
the outbox's back-off; any other 4xx is permanent. A JSON answer with a non-zero `code` is permanent
too (the convention of Chinese SMS platforms: `{"code": 0, "msg": "ok"}`).
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping

from coord.notify.mail import PermanentFailure, TemporaryFailure

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
TEMPORARY_STATUSES = {408, 425, 429}
MAX_LENGTH = 500  # the gateway splits long texts; keep ours short anyway


def normalise_mobile(value: str | None) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 removed), or None."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MOBILE_RE.match(digits) else None


def setting(config: Mapping, key: str, default: str | None = None) -> str | None:
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(f"COORD_{key}", default)
    return value


def signature(config: Mapping) -> str:
    return setting(config, "SMS_SIGN", "沙坪坝区柔性执法") or "沙坪坝区柔性执法"


def send(config: Mapping, message_id: str, mobile: str, content: str) -> str:
    """Hand one text to the gateway. Returns the gateway's answer (kept on the outbox row)."""
    url = setting(config, "SMS_GATEWAY_URL")
    if not url:
        raise TemporaryFailure("未配置短信平台地址（COORD_SMS_GATEWAY_URL），短信暂未发送。")
    if not url.lower().startswith(("http://", "https://")):
        raise PermanentFailure(f"短信平台地址无效（须为 http:// 或 https://）：{url}")
    sign = signature(config)
    body = json.dumps({"id": message_id, "mobile": mobile, "content": f"【{sign}】{content}", "sign": sign},
                      ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message_id}
    token = setting(config, "SMS_GATEWAY_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = float(setting(config, "SMS_TIMEOUT", "10") or 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            answer = response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        answer = err.read(500).decode("utf-8", "replace") if err.fp else ""
        detail = f"短信平台返回 {err.code}：{answer}".strip("：")
        if err.code in TEMPORARY_STATUSES or err.code >= 500:
            raise TemporaryFailure(detail) from err
        raise PermanentFailure(detail) from err
    except (OSError, ValueError) as err:  # refused, unreachable, timed out, bad URL
        raise TemporaryFailure(f"无法连接短信平台：{type(err).__name__}: {err}") from err
    code = _answer_code(answer)
    if code not in (None, 0, "0", "OK", "ok"):
        raise PermanentFailure(f"短信平台拒绝：{answer}")
    return answer


def _answer_code(answer: str):
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    return data.get("code") if isinstance(data, dict) else None
