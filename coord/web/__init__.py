"""Site-wide pages: home, health check, errors, template helpers."""
from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from coord import timeutil
from coord.errors import DomainError
from coord.extensions import htmx

ERROR_TEXT = {
    400: ("请求无效", "请求的数据不完整或格式不正确，请返回重试。"),
    401: ("需要登录", "请先登录。"),
    403: ("无权访问", "您的账号无权执行此操作。"),
    404: ("页面不存在", "您访问的记录不存在，或您无权查看。"),
    405: ("不支持的操作", "该页面不支持此请求方式。"),
    409: ("数据冲突", "该记录已被他人修改，请刷新后重试。"),
    413: ("文件过大", "上传的文件超过了大小限制。"),
    429: ("操作过于频繁", "尝试次数过多，请稍后再试。"),
    500: ("系统错误", "系统出现错误，已记录。请稍后再试或联系管理员。"),
}


def render_error(error: HTTPException):
    code = error.code or 500
    title, text = ERROR_TEXT.get(code, (error.name, error.description))
    if error.description != type(error).description:  # raised with a message of our own
        text = error.description
    if isinstance(error, CSRFError):
        title, text = "安全校验失败", "页面已过期或缺少安全令牌（CSRF），未做任何修改。请刷新页面后重试。"
    title, text = translate(title), translate(text)
    # A 405 names the methods the URL accepts (RFC 9110).
    headers = {k: v for k, v in error.get_headers() if k == "Allow"}
    if request.path.startswith("/api/"):
        return {"code": code, "message": text}, code, headers
    template = "_error.html" if htmx else "error.html"
    return render_template(template, code=code, title=title, text=text), code, headers


def render_domain_error(error: DomainError):
    title = ERROR_TEXT.get(error.status, ("操作未完成", ""))[0]
    template = "_error.html" if htmx else "error.html"
    return (render_template(template, code=error.status, title=translate(title), text=translate(error.message)),
            error.status)


def flash_later(msgid: str, category: str = "info", **params: Any) -> None:
    """Flash a message with parameters that is translated when it is shown, not when it is made: the page
    that shows it may be in another language (a welcome made on the Chinese login page, read in English)."""
    from flask import flash

    flash({"msgid": msgid, "params": {k: str(v) for k, v in params.items()}}, category)


def translate(text):
    """The text in the user's language, if the catalogue knows it (else as it is): for labels and messages
    that are kept in Chinese in code or data (state names, kinds, flashes) and translated only when shown.
    Jinja: `{{ lead.state_label|tr }}`. Never use it on what is stored."""
    if isinstance(text, dict) and "msgid" in text:  # from flash_later
        return gettext(text["msgid"], **text.get("params", {}))
    if not isinstance(text, str) or not text:
        return text
    if isinstance(text, Markup):
        return text
    return gettext(text.replace("%", "%%")) if "%" in text else gettext(text)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return render_error(error)
        app.logger.exception("unhandled error")
        from coord.extensions import db

        db.session.rollback()
        if request.path.startswith("/api/"):
            return {"code": 500, "message": translate(ERROR_TEXT[500][1])}, 500
        return render_template("error.html", code=500, title=translate(ERROR_TEXT[500][0]),
                               text=translate(ERROR_TEXT[500][1])), 500

    app.jinja_env.filters["localtime"] = timeutil.fmt_local
    app.jinja_env.filters["localdate"] = timeutil.fmt_date
    app.jinja_env.filters["tr"] = translate
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["nav_items"] = NAV
    app.jinja_env.globals["nav_more"] = NAV_MORE
    app.jinja_env.globals["nav_badge"] = nav_badge
    app.jinja_env.globals["nav_links"] = nav_links
    app.jinja_env.globals["nav_visible"] = nav_visible
    from coord.agencies.models import grouped

    app.jinja_env.filters["grouped_agencies"] = grouped

    @app.context_processor
    def inject():
        return {"htmx_request": bool(htmx)}


# (endpoint, label, who may see it: "all" | "office" | a permission of coord.accounts.permissions | "dev" —
# everybody, while development mail is caught instead of sent), in the order of the policy's work.
NAV: list[tuple[str, str, str]] = [
    ("web.home", "工作台", "all"),
    ("interviews.index", "联合约谈", "all"),
    ("interviews.follow_up_list", "回访任务", "all"),
    ("minutes.index", "约谈笔录", "all"),
    ("scheduling.week", "日程", "all"),
    ("referrals.index", "线索移交", "all"),
    ("referrals.police_index", "移送公安", "all"),
    ("lists.index", "两张清单", "all"),
    ("measures.index", "柔性执法台账", "all"),
    ("oversight.dashboard", "监督看板", "all"),
    ("parties.index", "当事人档案", "all"),
    ("agencies.index", "单位名录", "all"),
    ("scheduling.busy", "忙碌时间", "all"),
    ("calendar.index", "日历订阅", "all"),
    ("workdays.index", "工作日历", "all"),
    ("audit.index", "操作记录", "all"),
    ("referrals.figures", "线索统计", "office"),
    ("oversight.assessment_page", "考核", "office"),
    ("accounts.users", "账号管理", "accounts.manage"),
    ("accounts.login_log", "登录日志", "security.logins"),
    ("notify.index", "邮件发送", "office"),
    ("party.feedback_page", "当事人评价", "office"),
    ("mailin.quarantine", "收件隔离", "office"),
    ("notify.devmail", "开发邮箱", "dev"),
]
# Shown under 更多 in the top bar (still cards on the home page).
NAV_MORE = {"scheduling.busy", "calendar.index", "workdays.index", "audit.index", "referrals.figures",
            "accounts.users", "accounts.login_log", "notify.index", "party.feedback_page", "mailin.quarantine",
            "notify.devmail", "parties.index", "oversight.assessment_page"}

# Optional count badges on nav entries: endpoint -> fn(user) -> int (0 shows nothing).
NAV_BADGES: dict = {}

# What the home page shows, in order: (template, fn(user) -> its context). The worklist registers itself.
HOME_PARTS: list = []


def nav_badge(endpoint: str) -> int:
    from flask_login import current_user

    fn = NAV_BADGES.get(endpoint)
    return fn(current_user) if fn and current_user.is_authenticated else 0


def _visible(user: Any, who: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if who == "dev":
        from coord.notify.services import transport

        return transport() == "catchall"
    return user.sees_nav(who)


def nav_visible(who: str) -> bool:
    """May the current user see a navigation entry of this kind?"""
    from flask_login import current_user

    return _visible(current_user, who)


def nav_links(user) -> tuple[list[tuple], list[tuple]]:
    """(main, more) entries of the top bar for this request: (url, label, is current page, badge)."""
    from flask import current_app, url_for
    from flask_babel import gettext

    # The top bar's entries without what varies per request: (endpoint, URL, translated label, under 更多).
    # Building them (16 × url_for and gettext) was a fifth of a list page's time, so they are kept per app,
    # locale and role: who sees an entry depends on the role and on settings fixed for the app.
    cache = current_app.extensions.setdefault("coord_nav", {})
    key = (str(get_locale()), user.role, request.script_root)
    static = cache.get(key)
    if static is None:
        static = [(endpoint, url_for(endpoint), gettext(label), endpoint in NAV_MORE)
                  for endpoint, label, who in NAV if _visible(user, who)]
        cache[key] = static
    here = request.endpoint
    main: list[tuple] = []
    more: list[tuple] = []
    user = getattr(user, "_get_current_object", lambda: user)()  # the object, not the proxy, per badge
    for endpoint, url, label, under_more in static:
        fn = NAV_BADGES.get(endpoint)
        badge = fn(user) if fn else 0
        (more if under_more else main).append((url, label, endpoint == here, badge))
    return main, more
