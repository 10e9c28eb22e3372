"""Check digits of Chinese identifiers: 身份证号 (GB 11643-1999) here; 统一社会信用代码 (GB 32100-2015)
lives in `coord.credit_code`, shared with the lists and referrals."""
from __future__ import annotations

from flask_babel import gettext as _

from coord.credit_code import credit_code_error  # noqa: F401  (re-exported for the interview services)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_number_error(number: str) -> str | None:
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return _("身份证号码应为 18 位（末位可为 X）。")
    total = sum(int(c) * w for c, w in zip(number[:17], ID_WEIGHTS, strict=True))
    if number[17] != ID_CHECK[total % 11]:
        return _("身份证号码校验位不正确，请核对。")
    return None
