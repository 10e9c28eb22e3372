"""Notification titles in the reader's language: a small registry of templates.

A listener names a template and its values (`Note.of`); the row keeps both, and its Chinese text in
`title` (history, the API's `title_zh`, and rows made before the registry). Each template is a Chinese
msgid with %(name)s placeholders, translated in the English catalogue. Values are data as entered
(lead numbers, parties, interview subjects, agency names, reasons) and stay as they are, except:

- `labels`: a value that is the code of a label kept in code (a police referral's state, a list's kind),
  shown as that label in the reader's language;
- `instants`: an ISO instant, shown with a date pattern the reader's way ("12月02日 09:30", "2 Dec 09:30"),
  or "未排期" when there is none.

A template unknown here (renamed, or a row from an older version) or values that do not fit it give None:
the caller shows the stored Chinese title instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coord.lang import N_, _, in_language, tr
from coord.lists.models import KINDS as LIST_KINDS
from coord.referrals.models import POLICE_CLOCKS, POLICE_STATES
from coord.timeutil import fmt_local

UNSCHEDULED = N_("未排期")
WHEN = "%m月%d日 %H:%M"


@dataclass(frozen=True)
class Title:
    msgid: str
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # value name -> code -> label
    instants: Mapping[str, str] = field(default_factory=dict)  # value name -> date pattern


# The families of titles: which of their values are labels or instants.
def _lead(msgid: str) -> Title:  # 线索 %(number)s（%(party)s）…
    return Title(msgid)


def _police(msgid: str, **labels: Mapping[str, str]) -> Title:  # 移送 %(number)s（%(party)s，涉嫌%(crime)s）…
    return Title(msgid, labels=labels)


def _interview(msgid: str) -> Title:  # 约谈“%(title)s”（%(when)s）…
    return Title(msgid, instants={"when": WHEN})


def _visit(msgid: str) -> Title:  # 回访：约谈“%(title)s”（%(party)s）…
    return Title(msgid)


def _list(msgid: str) -> Title:  # %(agency)s%(kind)s第 %(number)s 版…
    return Title(msgid, labels={"kind": LIST_KINDS})


# Every msgid below is in coord/translations/en/LC_MESSAGES/messages.po.
TITLES: dict[str, Title] = {
    # leads
    "lead_referred": _lead(N_("线索 %(number)s（%(party)s）已移交本单位，请签收")),
    "lead_redirected": _lead(N_("线索 %(number)s（%(party)s）已改派本单位，请签收")),
    "lead_returned": _lead(N_("线索 %(number)s（%(party)s）被接收单位退回，请改派")),
    "lead_replied": _lead(N_("线索 %(number)s（%(party)s）已回复处理情况，请确认办结或退回补充")),
    "lead_sent_back": _lead(N_("线索 %(number)s（%(party)s）的回复被退回补充核查")),
    "lead_accepted": _lead(N_("线索 %(number)s（%(party)s）已确认办结")),
    "lead_supervised": _lead(N_("线索 %(number)s（%(party)s）被领导小组办公室督办，请答复")),
    "lead_extension_requested": _lead(N_("线索 %(number)s（%(party)s）的接收单位申请延期，请审批")),
    "lead_extension_requested_days": _lead(
        N_("线索 %(number)s（%(party)s）的接收单位申请延期 %(days)s 个工作日，请审批")),
    "lead_extension_approved": _lead(N_("线索 %(number)s（%(party)s）的延期申请已同意")),
    "lead_extension_approved_due": _lead(N_("线索 %(number)s（%(party)s）的延期申请已同意，回复期限 %(due)s")),
    "lead_extension_refused": _lead(N_("线索 %(number)s（%(party)s）的延期申请未同意")),
    "lead_supervision_answered": _lead(N_("线索 %(number)s（%(party)s）：%(agency)s已答复督办")),
    "lead_clock_warning_ack": _lead(N_("线索 %(number)s（%(party)s）即将到期：须于 %(due)s 前签收")),
    "lead_clock_warning_reply": _lead(N_("线索 %(number)s（%(party)s）即将到期：须于 %(due)s 前回复")),
    "lead_clock_warning": _lead(N_("线索 %(number)s（%(party)s）即将到期：须于 %(due)s 前办理")),
    "lead_clock_overdue_ack": _lead(N_("线索 %(number)s（%(party)s）已超过签收期限（%(due)s）")),
    "lead_clock_overdue_reply": _lead(N_("线索 %(number)s（%(party)s）已超过回复期限（%(due)s）")),
    "lead_clock_overdue": _lead(N_("线索 %(number)s（%(party)s）已超过办理期限（%(due)s）")),
    "lead_deadline_moved": _lead(N_("线索 %(number)s（%(party)s）的期限因工作日历调整由 %(before)s 改为 %(after)s")),
    # police referrals
    "police_referral_changed": _police(
        N_("移送 %(number)s（%(party)s，涉嫌%(crime)s）：%(state)s"), state=POLICE_STATES),
    "police_clock_warning": _police(
        N_("移送 %(number)s（%(party)s，涉嫌%(crime)s）：%(what)s即将到期（%(due)s）"), what=POLICE_CLOCKS),
    "police_clock_overdue": _police(
        N_("移送 %(number)s（%(party)s，涉嫌%(crime)s）：%(what)s已超时（%(due)s）"), what=POLICE_CLOCKS),
    # interviews, minutes, the party's answers, the invitees' answers
    "interview_created": _interview(N_("约谈“%(title)s”（%(when)s）已发起，您是参加人员")),
    "interview_scheduled": _interview(N_("约谈“%(title)s”（%(when)s）已排期，您是参加人员")),
    "interview_rescheduled": _interview(N_("约谈“%(title)s”（%(when)s）已改期，请留意新的时间")),
    "interview_changed": _interview(N_("约谈“%(title)s”（%(when)s）的人员、地点或内容有变更")),
    "interview_cancelled": _interview(N_("约谈“%(title)s”（%(when)s）已取消")),
    "interview_cancelled_reason": _interview(N_("约谈“%(title)s”（%(when)s）已取消：%(reason)s")),
    "interview_removed": Title(N_("您已不再参加约谈“%(title)s”")),
    "interview_confirmation_requested": _interview(N_("约谈“%(title)s”（%(when)s）请确认本单位是否协办参加")),
    "interview_confirmation_confirmed": _interview(N_("约谈“%(title)s”（%(when)s）：%(agency)s确认参加")),
    "interview_confirmation_declined": _interview(N_("约谈“%(title)s”（%(when)s）：%(agency)s拒绝参加（%(reason)s）")),
    "interview_flagged": _interview(N_("约谈“%(title)s”（%(when)s）所在日期因工作日历调整已不是工作日，请改期")),
    "minutes_finalised": _interview(N_("约谈“%(title)s”（%(when)s）的约谈笔录已定稿")),
    "party_confirmed": _interview(N_("约谈“%(title)s”（%(when)s）：当事人已确认参加")),
    "party_reschedule_requested": _interview(
        N_("约谈“%(title)s”（%(when)s）：当事人申请改期，请同意其提出的时间或说明理由不同意")),
    "party_undertaking_signed": _interview(N_("约谈“%(title)s”（%(when)s）：当事人已在线签署保证承诺书")),
    "invitation_declined_person": _interview(
        N_("约谈“%(title)s”（%(when)s）：参加人员 %(email)s 拒绝参加，请改期或调整人员")),
    "invitation_declined_room": _interview(
        N_("约谈“%(title)s”（%(when)s）：会议室 %(email)s 拒绝参加，请改期或调整人员")),
    "invitation_countered": _interview(N_("约谈“%(title)s”（%(when)s）：%(email)s 提议改到其他时间，请决定是否采纳")),
    # follow-up visits
    "follow_up_due": _visit(N_("回访：约谈“%(title)s”（%(party)s）已到回访日期（%(due)s），请登记整改情况")),
    "follow_up_due_moved": _visit(
        N_("回访：约谈“%(title)s”（%(party)s）的回访日期因工作日历调整由 %(before)s 改为 %(after)s")),
    "party_proof_uploaded": _visit(N_("回访：约谈“%(title)s”（%(party)s）：当事人提交了整改材料，请审核")),
    # the two lists
    "list_submitted": _list(N_("%(agency)s%(kind)s第 %(number)s 版已提交审核")),
    "list_returned": _list(N_("%(agency)s%(kind)s第 %(number)s 版被退回修改：%(comment)s")),
    "list_published": _list(N_("%(agency)s%(kind)s第 %(number)s 版已审核通过并发布")),
    # the office
    "party_integrity_reported": Title(N_("收到当事人的廉洁监督反映，请及时核查")),
    "mail_quarantined": Title(N_("回复邮箱有邮件被隔离，请查看（%(reason)s）")),
}


def render(template: str | None, params: Any) -> str | None:
    """The title in the current language (a page's reader, or `in_language` for a mail), or None."""
    entry = TITLES.get(template or "")
    if entry is None or not isinstance(params, dict):
        return None
    values: dict[str, Any] = {}
    try:
        for name, value in params.items():
            if name in entry.labels:
                value = tr(entry.labels[name].get(str(value), str(value)))
            elif name in entry.instants:
                value = fmt_local(datetime.fromisoformat(value), entry.instants[name]) if value else tr(UNSCHEDULED)
            values[name] = value
        return _(entry.msgid, **values)
    except (KeyError, ValueError, TypeError):
        return None


def chinese(template: str, params: dict[str, Any]) -> str:
    """The Chinese title that is stored, whatever the language of the request that made it."""
    with in_language("zh_CN"):
        text = render(template, params)
    if text is None:
        raise ValueError(f"notification title {template!r} does not fit {sorted(params)}")
    return text


def instant(value: datetime | None) -> str | None:
    """An instant as a value of a template (its `instants`)."""
    return value.isoformat() if value is not None else None
