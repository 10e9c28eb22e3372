"""Password rules (GB/T 22239-2019 level 3, 身份鉴别): length, character classes, not common.

The common-password list is zxcvbn's (30,000 passwords from leaked-password corpora, the list
its strength estimator ranks against), plus a few that are common here and names of this
platform. A password is refused if it is on the list as typed, with look-alike characters read
as letters (p@ssw0rd), or once the digits and symbols around it are taken away (Dragon2026!).
"""
from __future__ import annotations

import re
import string
from functools import cache

from flask_babel import gettext

from coord.errors import DomainError

MIN_LENGTH = 8
MIN_CLASSES = 3
# Common in China, or the names of this platform and district: as guessable as "password".
LOCAL_COMMON = frozenset({
    "woaini", "woaini1314", "5201314", "1314520", "qq123456", "a123456", "aa123456", "abc123456",
    "123456a", "zhangwei", "wangwei", "chongqing", "shapingba", "coord", "coord-demo", "admin",
    "administrator", "zhifa", "rouxingzhifa", "sifaju",
})
LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "l", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | LOCAL_COMMON


def classes(password: str) -> int:
    return sum((
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c.isdigit() for c in password),
        any(not (c.isascii() and c.isalnum()) for c in password),
    ))


def is_common(password: str) -> bool:
    lowered = password.lower()
    core = EDGES.sub("", lowered)
    candidates = {lowered, lowered.translate(LEET), core, core.translate(LEET)}
    listed = common_passwords()
    return any(c and len(c) >= 4 and c in listed for c in candidates)


def check_password_strength(password: str, *, username: str = "") -> None:
    """Raise DomainError (field `password`) naming the first rule the password breaks."""
    if len(password) < MIN_LENGTH:
        raise DomainError(gettext("密码至少需要 %(MIN_LENGTH)s 个字符。", MIN_LENGTH=MIN_LENGTH), field="password")
    if classes(password) < MIN_CLASSES:
        raise DomainError("密码须包含大写字母、小写字母、数字、符号中的至少三类。", field="password")
    if username and len(username) >= 3 and username.lower() in password.lower():
        raise DomainError("密码不能包含用户名。", field="password")
    if is_common(password):
        raise DomainError("该密码过于常见，容易被猜中，请换一个。", field="password")
