"""统一社会信用代码 (GB 32100-2015): structure and check digit. Dependency-free on purpose.

18 characters: 登记管理部门代码 (1) + 机构类别代码 (1) + 登记管理机关行政区划码 (6 digits) +
主体标识码 (9, the GB 11714 organisation code) + 校验码 (1). The character set is the digits and
the capital letters without I, O, S, V, Z (31 symbols); the check digit is
31 − (Σ value·weight mod 31), with 31 written as 0.
"""
from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def normalize_credit_code(code: str | None) -> str:
    """Upper-case and without surrounding or inner blanks (people paste codes with spaces)."""
    return "".join((code or "").split()).upper()


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 (which must already be valid symbols)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def credit_code_error(code: str | None) -> str | None:
    """Why `code` is not a valid 统一社会信用代码 (a Chinese sentence), or None if it is."""
    value = normalize_credit_code(code)
    if not value:
        return "统一社会信用代码为空。"
    if len(value) != LENGTH:
        return f"统一社会信用代码应为 18 位，当前为 {len(value)} 位。"
    for pos, ch in enumerate(value, start=1):
        if ch not in _VALUE:
            return (f"统一社会信用代码含有无效字符：第 {pos} 位“{ch}”不是允许的字符"
                    "（数字或除 I、O、S、V、Z 以外的大写字母）。")
    if not value[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为登记管理机关行政区划码（6 位数字）。"
    expected = check_digit(value[:17])
    if value[17] != expected:
        return f"统一社会信用代码校验位不正确（校验码错误）：第 18 位应为“{expected}”，实为“{value[17]}”。"
    return None


def is_valid_credit_code(code: str | None) -> bool:
    return credit_code_error(code) is None
