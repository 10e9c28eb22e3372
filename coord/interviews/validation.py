"""Check digits of Chinese identifiers: 统一社会信用代码 (GB 32100-2015) and 身份证号 (GB 11643-1999)."""
from __future__ import annotations

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """None when valid, else a Chinese explanation."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，当前为 {len(code)} 位。"
    bad = sorted({c for c in code if c not in CREDIT_CHARS})
    if bad:
        return f"统一社会信用代码含有无效字符：{'、'.join(bad)}（不使用 I、O、S、V、Z）。"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位不正确（第 18 位应为 {expected}），请核对。"
    return None


def id_number_error(number: str) -> str | None:
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "身份证号码应为 18 位（末位可为 X）。"
    total = sum(int(c) * w for c, w in zip(number[:17], ID_WEIGHTS, strict=True))
    if number[17] != ID_CHECK[total % 11]:
        return "身份证号码校验位不正确，请核对。"
    return None
