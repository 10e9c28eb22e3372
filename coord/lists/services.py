"""Every change to the two lists, with its audit entry; queries for pages, API, dashboard and eligibility."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from coord import events
from coord.accounts.scoping import may_see, require_office, require_role
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.demo import register_seeder
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.lists import rules
from coord.lists.models import KINDS, MEASURES, OPEN_STATES, ListItem, ListVersion
from coord.lists.sheets import Limits, ParsedSheet, read_sheet

ENTITY = "list_version"
_DIFF_FIELDS = ("matter", "matter_code", "circumstances", "legal_basis", "measures", "remarks")


class ItemInvalid(DomainError):
    """One item's fields were refused; `errors` maps field → message (all of them)."""

    def __init__(self, kind: str, errors: list[rules.FieldError]):
        super().__init__(errors[0].message, field=errors[0].field,
                         details={"errors": [{"field": e.field, "column": rules.header_of(kind, e.field),
                                              "message": e.message} for e in errors]})
        self.errors = {e.field: e.message for e in errors}


# --- reading ---------------------------------------------------------------------------------

def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise DomainError("清单类型应为 positive（正面清单）或 negative（负面清单）。", field="kind")
    return kind


def get_agency(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("单位不存在。")
    return agency


def require_agency(user: Any, agency_id: int) -> Agency:
    """The agency whose (unpublished) lists the user may read: their own, or any for the office."""
    if not may_see(user, agency_id):
        raise NotFound("记录不存在或您无权查看。")
    return get_agency(agency_id)


def can_see_version(user: Any, version: ListVersion) -> bool:
    return version.is_public or may_see(user, version.agency_id)


def get_version(user: Any, version_id: int) -> ListVersion:
    version = db.session.get(ListVersion, version_id)
    if version is None or not may_see(user, version.agency_id):
        raise NotFound("记录不存在或您无权查看。")
    return version


def get_item(user: Any, item_id: int) -> ListItem:
    item = db.session.get(ListItem, item_id)
    if item is None or not may_see(user, item.version.agency_id):
        raise NotFound("记录不存在或您无权查看。")
    return item


def published_version(agency_id: int, kind: str) -> ListVersion | None:
    return db.session.execute(
        sa.select(ListVersion).where(ListVersion.agency_id == agency_id, ListVersion.kind == kind,
                                     ListVersion.state == "published")
    ).scalar_one_or_none()


def open_version(agency_id: int, kind: str) -> ListVersion | None:
    return db.session.execute(
        sa.select(ListVersion).where(ListVersion.agency_id == agency_id, ListVersion.kind == kind,
                                     ListVersion.state.in_(OPEN_STATES))
    ).scalar_one_or_none()


def history(agency_id: int, kind: str) -> list[ListVersion]:
    return list(db.session.execute(
        sa.select(ListVersion).where(ListVersion.agency_id == agency_id, ListVersion.kind == kind)
        .order_by(ListVersion.number.desc())
    ).scalars())


def agency_lists(agency_id: int) -> dict[str, dict[str, Any]]:
    """Per kind: the published version, the open one and every version (newest first), read in one
    query; each version carries `item_count` (its items are not loaded to be counted)."""
    item_count = (sa.select(sa.func.count(ListItem.id)).where(ListItem.version_id == ListVersion.id)
                  .correlate(ListVersion).scalar_subquery())
    out: dict[str, dict[str, Any]] = {kind: {"published": None, "open": None, "history": []} for kind in KINDS}
    for v, count in db.session.execute(sa.select(ListVersion, item_count).where(ListVersion.agency_id == agency_id)
                                       .order_by(ListVersion.number.desc())):
        v.item_count = count
        entry = out[v.kind]
        entry["history"].append(v)
        if v.state == "published":
            entry["published"] = v
        elif v.state in OPEN_STATES:
            entry["open"] = v
    return out


def previous_version(version: ListVersion) -> ListVersion | None:
    """What a version is compared with: the one it was started from, else the one numbered before it."""
    if version.based_on_id:
        return db.session.get(ListVersion, version.based_on_id)
    return db.session.execute(
        sa.select(ListVersion).where(ListVersion.agency_id == version.agency_id, ListVersion.kind == version.kind,
                                     ListVersion.number < version.number)
        .order_by(ListVersion.number.desc()).limit(1)
    ).scalar_one_or_none()


def warnings_for(item: ListItem, agency: Agency | None = None) -> list[str]:
    agency = agency or item.version.agency
    return rules.item_warnings(item.kind, item.content(), agency.credit_code)


def may_edit(user: Any, agency_id: int) -> bool:
    return bool(user.is_authenticated and user.agency_id == agency_id and user.role in ("coordinator", "admin"))


def _require_editor(user: Any, agency_id: int) -> None:
    """Only the agency's own coordinator edits its lists. Another agency's list is absent (404)."""
    if not may_see(user, agency_id):
        raise NotFound("记录不存在或您无权查看。")
    if user.agency_id != agency_id:
        raise Forbidden("只有本单位的联络员可以编辑和提交本单位的清单。")
    require_role(user, "coordinator", "admin")


def _lock_version(version_id: int) -> ListVersion | None:
    """The version row, locked until commit (PostgreSQL); SQLite writers are already serialised."""
    return db.session.execute(
        sa.select(ListVersion).where(ListVersion.id == version_id).with_for_update(of=ListVersion).execution_options(
            populate_existing=True)
    ).scalar_one_or_none()


def _editable(user: Any, version_id: int) -> ListVersion:
    write_lock(db.session)
    version = _lock_version(version_id)
    if version is None or not may_see(user, version.agency_id):
        raise NotFound("记录不存在或您无权查看。")
    _require_editor(user, version.agency_id)
    if not version.editable:
        raise Conflict(gettext("该版本%(state_label)s，不能修改。如需调整，请在新草稿中修改。",
                               state_label=gettext(version.state_label)),
                       details={"state": version.state})
    return version


def _scope(version: ListVersion) -> list[int]:
    return [version.agency_id]


def _label(version: ListVersion) -> str:
    return f"{version.agency.name}{version.kind_label}第 {version.number} 版"


# --- drafts and items ------------------------------------------------------------------------

def start_draft(user: Any, agency_id: int, kind: str) -> ListVersion:
    """The version being worked on; a new draft (a copy of the published list) if there is none."""
    check_kind(kind)
    _require_editor(user, agency_id)
    write_lock(db.session)
    current = open_version(agency_id, kind)
    if current is not None:
        return current
    base = published_version(agency_id, kind)
    number = (db.session.scalar(sa.select(sa.func.max(ListVersion.number)).where(
        ListVersion.agency_id == agency_id, ListVersion.kind == kind)) or 0) + 1
    now = utcnow()
    version = ListVersion(agency_id=agency_id, kind=kind, number=number, state="draft", created_at=now,
                          changed_at=now, created_by_id=user.id, based_on_id=base.id if base else None)
    if base is not None:
        for item in base.items:
            version.items.append(ListItem(kind=kind, uid=item.uid, **_columns(item.content())))
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError:  # another request opened a draft at the same moment
        db.session.rollback()
        raise Conflict("该清单已有正在编辑的版本，请刷新页面。") from None
    audit.record(user, "list.draft", ENTITY, version.id, agencies=_scope(version),
                 summary=f"新建{_label(version)}草稿" + (f"（以第 {base.number} 版为基础）" if base else ""),
                 after=version.snapshot())
    db.session.commit()
    return version


def draft_for_editing(user: Any, agency_id: int, kind: str) -> ListVersion:
    version = start_draft(user, agency_id, kind)
    if not version.editable:
        raise Conflict("该清单已提交审核，审核完成前不能修改。", details={"state": version.state})
    return version


def _columns(content: dict[str, Any]) -> dict[str, Any]:
    data = dict(content)
    if isinstance(data.get("measures"), list):
        data["measures"] = ",".join(data["measures"])
    return data


def _validated(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    clean, errors = rules.validate_item(kind, data)
    if errors:
        raise ItemInvalid(kind, errors)
    return clean


def _place(version: ListVersion, item: ListItem, position: int | None) -> None:
    """Put `item` at 序号 `position` (end if None) and renumber the rest 1..n."""
    others = [i for i in version.items if i is not item]
    index = len(others) if position is None else max(0, min(position - 1, len(others)))
    others.insert(index, item)
    for number, each in enumerate(others, start=1):
        each.position = number


def add_item(user: Any, version_id: int, data: dict[str, Any]) -> ListItem:
    version = _editable(user, version_id)
    clean = _validated(version.kind, data)
    position = clean.pop("position")
    item = ListItem(kind=version.kind, uid=uuid.uuid4().hex, position=0, **clean)
    version.items.append(item)
    _place(version, item, position)
    version.changed_at = utcnow()
    db.session.flush()
    audit.record(user, "list.item_add", ENTITY, version.id, agencies=_scope(version),
                 summary=f"{_label(version)}新增事项“{item.matter}”", after=item.content())
    db.session.commit()
    return item


def update_item(user: Any, item_id: int, data: dict[str, Any]) -> ListItem:
    item = db.session.get(ListItem, item_id)
    if item is None:
        raise NotFound("记录不存在或您无权查看。")
    version = _editable(user, item.version_id)
    before = item.content()
    clean = _validated(version.kind, data)
    position = clean.pop("position")
    for key, value in clean.items():
        setattr(item, key, value)
    _place(version, item, position or before["position"])
    version.changed_at = utcnow()
    audit.record(user, "list.item_update", ENTITY, version.id, agencies=_scope(version),
                 summary=f"{_label(version)}修改事项“{item.matter}”", before=before, after=item.content())
    db.session.commit()
    return item


def delete_item(user: Any, item_id: int) -> ListVersion:
    """Removes a row from a draft (drafts are working copies; published versions never change)."""
    item = db.session.get(ListItem, item_id)
    if item is None:
        raise NotFound("记录不存在或您无权查看。")
    version = _editable(user, item.version_id)
    before = item.content()
    version.items.remove(item)
    for number, each in enumerate(version.items, start=1):
        each.position = number
    version.changed_at = utcnow()
    audit.record(user, "list.item_delete", ENTITY, version.id, agencies=_scope(version),
                 summary=f"{_label(version)}删除事项“{before['matter']}”", before=before)
    db.session.commit()
    return version


# --- import ----------------------------------------------------------------------------------

def import_limits() -> Limits:
    config = current_app.config if has_app_context() else {}
    return Limits(
        max_bytes=int(config.get("LISTS_IMPORT_MAX_BYTES", Limits.max_bytes)),
        max_rows=int(config.get("LISTS_IMPORT_MAX_ROWS", Limits.max_rows)),
        max_unzipped_bytes=int(config.get("LISTS_IMPORT_MAX_UNZIPPED_BYTES", Limits.max_unzipped_bytes)),
    )


@dataclass
class ImportResult:
    version: ListVersion
    items: list[ListItem]
    diff: Diff
    ignored_columns: list[str] = field(default_factory=list)


def _match_uids(old: list[ListItem], new: list[dict[str, Any]]) -> list[str]:
    """Carry each row's identity over from the draft it replaces: same matter, code and 情形 first,
    then same matter and code when that is unambiguous; else it is a new item."""
    free = {i.uid: i for i in old}
    uids: list[str | None] = [None] * len(new)
    exact = {(i.matter_code, i.matter, i.circumstances): i.uid for i in reversed(old)}
    for n, row in enumerate(new):
        uid = exact.get((row["matter_code"], row["matter"], row["circumstances"]))
        if uid in free:
            uids[n] = uid
            del free[uid]
    for n, row in enumerate(new):
        if uids[n] is None:
            wanted = (row["matter_code"], row["matter"])
            candidates = [u for u, i in free.items() if (i.matter_code, i.matter) == wanted]
            if len(candidates) == 1:
                uids[n] = candidates[0]
                del free[candidates[0]]
    return [u or uuid.uuid4().hex for u in uids]


def import_sheet(user: Any, agency_id: int, kind: str, data: bytes) -> ImportResult:
    """Replace the draft's items with the sheet's rows, all or nothing."""
    check_kind(kind)
    _require_editor(user, agency_id)
    parsed: ParsedSheet = read_sheet(data, kind, import_limits())  # raises before anything is written
    version = draft_for_editing(user, agency_id, kind)
    version = _editable(user, version.id)
    old_items = list(version.items)
    old_content = [_Row(i.uid, i.content()) for i in old_items]
    uids = _match_uids(old_items, parsed.items)
    for item in old_items:
        version.items.remove(item)
    db.session.flush()
    for uid, row in zip(uids, parsed.items, strict=True):
        version.items.append(ListItem(kind=kind, uid=uid, **row))
    version.changed_at = utcnow()
    db.session.flush()
    changes = diff_rows(old_content, [_Row(i.uid, i.content()) for i in version.items], kind)
    audit.record(user, "list.import", ENTITY, version.id, agencies=_scope(version),
                 summary=f"导入{_label(version)}：{len(version.items)} 项（{changes.summary}）",
                 after={"items": len(version.items), "added": len(changes.added),
                        "changed": len(changes.changed), "removed": len(changes.removed)})
    db.session.commit()
    return ImportResult(version, list(version.items), changes, parsed.ignored_columns)


# --- submit and review -----------------------------------------------------------------------

def submit(user: Any, version_id: int) -> ListVersion:
    version = _editable(user, version_id)
    if not version.items:
        raise DomainError("清单中还没有事项，不能提交审核。")
    before = version.snapshot()
    version.state = "submitted"
    version.submitted_at = utcnow()
    version.submitted_by_id = user.id
    audit.record(user, "list.submit", ENTITY, version.id, agencies=_scope(version),
                 summary=f"提交{_label(version)}审核（{len(version.items)} 项）",
                 before=before, after=version.snapshot())
    events.announce(events.list_submitted, version.id, actor=user, agency_id=version.agency_id, kind=version.kind)
    db.session.commit()
    return version


def review(user: Any, version_id: int, decision: str, comment: str = "") -> ListVersion:
    """The office approves (which publishes, superseding the previous version) or returns with comments."""
    require_office(user)
    if decision not in ("approve", "return"):
        raise DomainError("审核结论应为 approve（通过并发布）或 return（退回修改）。", field="decision")
    comment = (comment or "").strip()
    if decision == "return" and not comment:
        raise DomainError("退回时请填写审核意见，说明需要修改的内容。", field="comment")
    if len(comment) > 2000:
        raise DomainError("审核意见不能超过 2000 个字符。", field="comment")
    write_lock(db.session)
    version = _lock_version(version_id)
    if version is None:
        raise NotFound("记录不存在或您无权查看。")
    if version.state != "submitted":
        raise Conflict(gettext("该版本%(state_label)s，不在待审核状态。",
                               state_label=gettext(version.state_label)), details={"state": version.state})
    before = version.snapshot()
    now = utcnow()
    version.reviewed_at, version.reviewed_by_id, version.review_comment = now, user.id, comment
    if decision == "return":
        version.state = "returned"
        action, summary = "list.return", f"退回{_label(version)}：{comment}"
    else:
        old = published_version(version.agency_id, version.kind)
        if old is not None:
            old.state, old.superseded_at = "superseded", now
            db.session.flush()  # one published version per list: retire the old one first
        version.state, version.published_at = "published", now
        action = "list.publish"
        summary = f"审核通过并发布{_label(version)}" + (f"，取代第 {old.number} 版" if old else "")
    audit.record(user, action, ENTITY, version.id, agencies=_scope(version), summary=summary,
                 before=before, after=version.snapshot())
    events.announce(events.list_returned if decision == "return" else events.list_published, version.id,
                    actor=user, agency_id=version.agency_id, kind=version.kind)
    db.session.commit()
    return version


def submit_open(user: Any, agency_id: int, kind: str | None = None) -> list[ListVersion]:
    """API helper: submit the agency's draft of `kind`, or every draft with items when no kind is named."""
    _require_editor(user, agency_id)
    kinds = [check_kind(kind)] if kind else list(KINDS)
    targets = [v for k in kinds if (v := open_version(agency_id, k)) is not None and v.editable
               and (kind or v.items)]
    if not targets:
        raise Conflict("没有可提交的清单草稿。")
    return [submit(user, v.id) for v in targets]


def review_open(user: Any, agency_id: int, decision: str, comment: str, kind: str | None = None) -> list[ListVersion]:
    require_office(user)
    get_agency(agency_id)
    kinds = [check_kind(kind)] if kind else list(KINDS)
    targets = [v for k in kinds if (v := open_version(agency_id, k)) is not None and v.state == "submitted"]
    if not targets:
        raise Conflict("该单位没有待审核的清单。")
    return [review(user, v.id, decision, comment) for v in targets]


def pending_reviews() -> list[ListVersion]:
    return list(db.session.execute(
        sa.select(ListVersion).where(ListVersion.state == "submitted").order_by(ListVersion.submitted_at)
    ).scalars())


# --- diff ------------------------------------------------------------------------------------

@dataclass
class _Row:
    uid: str
    content: dict[str, Any]


@dataclass
class Change:
    before: dict[str, Any]
    after: dict[str, Any]
    fields: list[tuple[str, str, str]]  # (column header, before, after)


@dataclass
class Diff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def summary(self) -> str:
        return f"新增 {len(self.added)}、修改 {len(self.changed)}、删除 {len(self.removed)}"

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _shown(field_name: str, value: Any) -> str:
    if field_name == "measures":
        return "、".join(MEASURES.get(m, m) for m in value)
    return str(value)


def diff_rows(old: list[_Row], new: list[_Row], kind: str = "positive") -> Diff:
    """Items follow their uid; 序号 alone is not a change (inserting a row renumbers the rest)."""
    before = {r.uid: r.content for r in old}
    result = Diff()
    seen = set()
    for row in new:
        seen.add(row.uid)
        prior = before.get(row.uid)
        if prior is None:
            result.added.append(row.content)
            continue
        fields = [(rules.header_of(kind, f) if f in dict(rules.COLUMNS[kind]) else f,
                   _shown(f, prior[f]), _shown(f, row.content[f]))
                  for f in _DIFF_FIELDS if prior[f] != row.content[f]]
        if fields:
            result.changed.append(Change(prior, row.content, fields))
        else:
            result.unchanged += 1
    result.removed = [r.content for r in old if r.uid not in seen]
    return result


def diff_versions(old: ListVersion | None, new: ListVersion) -> Diff:
    old_rows = [_Row(i.uid, i.content()) for i in old.items] if old else []
    return diff_rows(old_rows, [_Row(i.uid, i.content()) for i in new.items], new.kind)


# --- public search ---------------------------------------------------------------------------

def search_published(q: str = "", agency_id: int | None = None, kind: str | None = None,
                     limit: int = 500) -> list[ListItem]:
    """Items of published lists; `q` matches the matter, its code or the agency's name."""
    stmt = (sa.select(ListItem).join(ListItem.version).join(ListVersion.agency)
            .where(ListVersion.state == "published")
            .order_by(Agency.sort_order, Agency.id, ListVersion.kind.desc(), ListItem.position))
    if agency_id:
        stmt = stmt.where(ListVersion.agency_id == agency_id)
    if kind:
        stmt = stmt.where(ListVersion.kind == check_kind(kind))
    for word in (q or "").split()[:5]:
        like = f"%{word[:100]}%"
        stmt = stmt.where(sa.or_(ListItem.matter.ilike(like), ListItem.matter_code.ilike(like),
                                 Agency.name.ilike(like)))
    return list(db.session.execute(stmt.limit(limit)).scalars())


def published_lists() -> list[ListVersion]:
    return list(db.session.execute(
        sa.select(ListVersion).join(ListVersion.agency).where(ListVersion.state == "published")
        .order_by(Agency.sort_order, Agency.id, ListVersion.kind.desc())
    ).scalars())


# --- PDF in the annex layout (coord.documents) -------------------------------------------------

PDF_WIDTHS = {"position": 5, "matter": 16, "matter_code": 15, "circumstances": 24, "legal_basis": 22,
              "measures": 10, "remarks": 8}


def list_pdf_context(version: ListVersion) -> dict[str, Any]:
    from coord.lists.sheets import NOTES, annex_values

    columns = rules.COLUMNS[version.kind]
    widths = [PDF_WIDTHS[f] for f, _ in columns]
    scale = 100 / sum(widths)
    return {
        "document_title": f"{version.agency.name}{version.title}",
        "document_date": version.published_at,
        "title": version.title,
        "agency_name": version.agency.name,
        "version_label": f"第 {version.number} 版",
        "version": version.number,
        "published_at": version.published_at,
        "headers": [h for _, h in columns],
        "widths": [round(w * scale, 2) for w in widths],
        "rows": [annex_values(version.kind, i) for i in version.items],
        "note": NOTES[version.kind],
    }


def render_list_pdf(version: ListVersion) -> bytes:
    """The list as an official PDF (GB/T 9704 fonts, A4 landscape), cached by the hash of its content."""
    from coord.documents import render_pdf

    return render_pdf("list.html", list_pdf_context(version))


# --- the office's dashboard ------------------------------------------------------------------

@dataclass
class DashboardRow:
    agency: Agency
    published: dict[str, ListVersion | None]
    open: dict[str, ListVersion | None]

    @property
    def complete(self) -> bool:
        return all(self.published.values())

    @property
    def last_changed(self) -> datetime | None:
        stamps = [v.published_at for v in self.published.values() if v and v.published_at]
        return max(stamps) if stamps else None

    @property
    def draft_changed(self) -> datetime | None:
        stamps = [v.changed_at for v in self.open.values() if v]
        return max(stamps) if stamps else None


def dashboard(only_missing: bool = False) -> list[DashboardRow]:
    """Every active enforcement agency with its published and in-progress versions."""
    rows, _ = overview()
    return [r for r in rows if not r.complete] if only_missing else rows


def overview() -> tuple[list[DashboardRow], list[ListVersion]]:
    """The office's dashboard and the versions waiting for review, in two queries: each version
    carries `item_count` (no list of items is loaded to be counted)."""
    agencies = list(db.session.execute(
        sa.select(Agency).where(Agency.active.is_(True), Agency.is_enforcement.is_(True))
        .order_by(Agency.sort_order, Agency.id)
    ).scalars())
    item_count = (sa.select(sa.func.count(ListItem.id)).where(ListItem.version_id == ListVersion.id)
                  .correlate(ListVersion).scalar_subquery())
    published: dict[tuple[int, str], ListVersion] = {}
    opened: dict[tuple[int, str], ListVersion] = {}
    pending: list[ListVersion] = []
    for v, count in db.session.execute(
        sa.select(ListVersion, item_count).where(ListVersion.state.in_(("published", *OPEN_STATES)))
    ):
        v.item_count = count
        (published if v.state == "published" else opened)[(v.agency_id, v.kind)] = v
        if v.state == "submitted":
            pending.append(v)
    rows = [DashboardRow(a, {k: published.get((a.id, k)) for k in KINDS}, {k: opened.get((a.id, k)) for k in KINDS})
            for a in agencies]
    pending.sort(key=lambda v: (v.submitted_at is None, v.submitted_at or 0, v.id))
    return rows, pending


# --- eligibility: used by the lead-reply and interview forms ---------------------------------

def _norm(text: str) -> str:
    return "".join(ch for ch in (text or "") if ch.isalnum()).upper()


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def match_score(item_matter: str, item_code: str, text: str) -> float:
    """How surely `text` names this item: 1 when one contains the other or the code appears;
    else the larger of the Dice similarity and the share of the item's character pairs in the text."""
    matter, code, text = _norm(item_matter), _norm(item_code), _norm(text)
    if len(text) < 2 or not matter:
        return 0.0
    if matter in text or text in matter or (code and code in text):
        return 1.0
    a, b = _bigrams(matter), _bigrams(text)
    common = len(a & b)
    return max(2 * common / (len(a) + len(b)), common / len(a))


MATCH_THRESHOLD = 0.6


def matching_items(agency_id: int, matter_text: str) -> list[ListItem]:
    """Published items of the agency that the text names, best match first."""
    stmt = (sa.select(ListItem).join(ListItem.version)
            .where(ListVersion.agency_id == agency_id, ListVersion.state == "published")
            .order_by(ListVersion.kind.desc(), ListItem.position))
    scored = [(match_score(i.matter, i.matter_code, matter_text), i) for i in db.session.execute(stmt).scalars()]
    return [i for score, i in sorted(scored, key=lambda p: -p[0]) if score >= MATCH_THRESHOLD]


def eligibility(agency_id: int, matter_text: str | None = None, list_item_id: int | None = None) -> dict[str, Any]:
    """May this matter be handled flexibly by this agency? {eligible, reasons, measures, ...}.

    Not eligible when it is on the agency's negative list or in a field the policy excludes
    (§五(三)); the measures proposed are those of the positive-list items it matches.
    """
    agency = get_agency(agency_id)
    reasons: list[str] = []
    if list_item_id:
        item = db.session.get(ListItem, list_item_id)
        if item is None or not item.version.is_public:
            raise NotFound("清单事项不存在或尚未发布。")
        if item.version.state == "superseded":
            current = current_item(item)
            if current is None:
                reasons.append(gettext("注意：该事项所在的第 %(number)s 版清单已被新版本取代，现行清单中已无该事项。",
                                       number=item.version.number))
            else:  # judged by the list in force, which the item's uid leads to
                reasons.append(gettext("注意：该事项所在的第 %(number)s 版清单已被第 %(current)s 版"
                                       "取代，以下按现行清单判断。",
                                       number=item.version.number, current=current.version.number))
                item = current
        items = [item]
        # The text naming the matter (a lead's 涉嫌违法事项) may itself fall in an excluded field.
        texts = [item.matter, item.circumstances, matter_text or ""]
        if item.version.agency_id != agency.id:
            reasons.append(gettext("注意：该事项属于%(owner)s的清单，不是%(agency)s的清单。",
                                   owner=item.version.agency.name, agency=agency.name))
    else:
        items = matching_items(agency.id, matter_text or "")
        texts = [matter_text or ""]
    negatives = [i for i in items if i.kind == "negative"]
    positives = [i for i in items if i.kind == "positive"]
    excluded = rules.excluded_fields(*texts)
    for i in negatives:
        reasons.append(gettext("列入%(agency)s负面清单：“%(matter)s”（依法应当从重处罚），%(flag)s。",
                               agency=i.version.agency.name, matter=i.matter, flag=gettext(rules.NOT_ELIGIBLE)))
    reasons.extend(rules.excluded_reason(f, k) for f, k in excluded)
    eligible = not negatives and not excluded
    measures: list[str] = []
    if eligible:
        measures = [m for m in MEASURES if any(m in i.measure_codes for i in positives)]
    for i in positives:
        hint = (gettext("，可采取：%(measures)s", measures=gettext("、").join(gettext(m) for m in i.measure_names))
                if eligible else gettext("，但存在上述不适用情形"))
        reasons.append(gettext("列入%(agency)s正面清单：“%(matter)s”%(hint)s。", agency=i.version.agency.name,
                               matter=i.matter, hint=hint))
    if not items and not excluded:
        reasons.append(gettext("未在%(agency)s已发布的两张清单中找到该事项，请依法综合裁量。", agency=agency.name))
    return {
        "eligible": eligible,
        "flag": None if eligible else rules.NOT_ELIGIBLE,
        "reasons": reasons,
        "measures": measures,
        "measure_names": [MEASURES[m] for m in measures],
        "items": [{"id": i.id, "kind": i.kind, "matter": i.matter, "matter_code": i.matter_code,
                   "measures": i.measure_codes} for i in items],
    }


def current_item(item: ListItem) -> ListItem | None:
    """The same item (same uid) in its list's published version: the item itself, a newer row, or None."""
    if item.version.state == "published":
        return item
    return db.session.execute(
        sa.select(ListItem).join(ListItem.version)
        .where(ListItem.uid == item.uid, ListItem.kind == item.kind, ListVersion.agency_id == item.version.agency_id,
               ListVersion.state == "published").limit(1)
    ).scalar_one_or_none()


def published_item(agency: Agency, value: Any, *, field: str = "list_item_id", keep: int | None = None
                   ) -> ListItem | None:
    """The list item a lead or an interview names: one of `agency`'s currently published items.

    `keep` is the item already named (an edit that does not change it is not refused because its
    list has since been revised). Items of drafts are not revealed: same message as unknown ids.
    """
    if value in (None, "", 0, "0"):
        return None
    try:
        item_id = int(value)
    except (TypeError, ValueError):
        raise DomainError("请选择有效的清单事项。", field=field) from None
    if keep is not None and item_id == keep:
        return db.session.get(ListItem, item_id)
    item = db.session.get(ListItem, item_id) if 0 < item_id < 2**31 else None
    if item is None or item.version.state != "published":
        raise DomainError("所选清单事项不存在或不在现行发布的清单中，请从已发布的清单中选择。", field=field)
    if item.version.agency_id != agency.id:
        raise DomainError(gettext("所选清单事项属于%(owner)s，不是%(agency)s的清单事项，"
                                  "请从%(agency)s已发布的清单中选择。",
                                  owner=item.version.agency.name, agency=agency.name), field=field)
    return item


def item_summary(item: ListItem | None) -> dict[str, Any] | None:
    """A named list item for API payloads: the row named, its stable uid and the row in force now."""
    if item is None:
        return None
    current = current_item(item)
    return {"id": item.id, "uid": item.uid, "kind": item.kind, "agency_id": item.version.agency_id,
            "matter": item.matter, "matter_code": item.matter_code, "measures": item.measure_codes,
            "version": item.version.number, "version_state": item.version.state,
            "current_id": current.id if current else None}


def eligibility_brief(agency_id: int, matter_text: str | None = None, list_item_id: int | None = None
                      ) -> dict[str, Any]:
    """eligibility() as API payloads show it; memoised per request (a page of leads repeats matters)."""
    from flask import has_request_context, request

    key = (agency_id, matter_text, list_item_id)
    cache = request.environ.setdefault("coord.list_eligibility", {}) if has_request_context() else {}
    if key not in cache:
        result = eligibility(agency_id, matter_text=matter_text, list_item_id=list_item_id)
        cache[key] = {k: result[k] for k in ("eligible", "flag", "reasons", "measures")}
    return cache[key]


def item_choices(agency_id: int, q: str = "", limit: int = 50) -> list[ListItem]:
    """Published items of one agency, for a picker ("which list item does this concern?")."""
    return search_published(q, agency_id=agency_id, limit=limit)


def _visible(user: Any, entity_id: str) -> bool:
    version = db.session.get(ListVersion, int(entity_id)) if str(entity_id).isdigit() else None
    return version is not None and may_see(user, version.agency_id)


audit.register_entity(ENTITY, "两张清单", _visible)


def _seed_demo() -> int:
    from coord.lists.demo import seed

    return seed()


register_seeder("lists", _seed_demo)
