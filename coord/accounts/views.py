from __future__ import annotations

from datetime import date, time, timedelta
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from coord.accounts import login as logins
from coord.accounts import permissions, services, sessions
from coord.accounts.forms import ConfirmForm, LoginForm, PasswordForm, TokenForm, UserForm
from coord.agencies import services as agencies
from coord.errors import DomainError
from coord.extensions import limiter
from coord.forms import form_data
from coord.lang import LANGUAGES
from coord.timeutil import local_datetime
from coord.web import flash_later

bp = Blueprint("accounts", __name__)


def _login_key() -> str:
    return f"{request.remote_addr}|{(request.form.get('username') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key, methods=["POST"],
               error_message="登录尝试过于频繁，请稍后再试。")
def login():
    form = LoginForm()
    if form.validate_on_submit():
        outcome = logins.attempt(form.username.data, form.password.data)
        if outcome.ok:
            _begin(outcome.user, outcome.token)
            chosen = request.cookies.get("lang")
            if chosen in LANGUAGES and chosen != outcome.user.language:
                # The language chosen on the login page is the user's: their e-mail follows it too.
                services.set_language(outcome.user, chosen)
            flash_later("欢迎，%(display_name)s。", "success", display_name=outcome.user.display_name)
            if outcome.user.must_change_password:
                return redirect(url_for("accounts.change_password", next=_safe_next(request.args.get("next"))))
            return redirect(_safe_next(request.args.get("next")))
        field = form.username if outcome.reason in ("locked", "locked_now", "inactive") else form.password
        field.errors.append(logins.message(outcome))
    # HEAD is a GET without a body; only a failed POST is a bad request.
    return render_template("accounts/login.html", form=form), 400 if request.method == "POST" else 200


def _begin(user, token: str) -> None:
    """Bind this browser to a new server-side session (a fresh cookie: no session fixation)."""
    session.clear()
    session.permanent = True  # the cookie ends with the session's absolute limit
    session[sessions.SESSION_KEY] = token
    login_user(user)


def _safe_next(target: str | None) -> str:
    """A local path to go on to, or home: no other host, no scheme, no control characters."""
    if (target and target.startswith("/") and not target.startswith(("//", "/\\"))
            and target.isprintable() and "\\" not in target and urlparse(target).netloc == ""):
        return target
    return url_for("web.home")


@bp.post("/logout")
@login_required
def logout():
    logins.logout(current_user)
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("accounts.login"))


def _change_password(form: PasswordForm) -> bool:
    try:
        token = services.change_password(current_user, form.current_password.data, form.new_password.data)
    except DomainError as err:
        getattr(form, err.field or "new_password", form.new_password).errors.append(err.message)
        return False
    _begin(current_user, token)  # every earlier session (and any copy of its cookie) has ended
    return True


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit() and _change_password(form):
        flash("密码已修改，其他设备上的登录已失效。", "success")
        return redirect(url_for("accounts.account"))
    return _account_page(form, status=400 if request.method == "POST" else 200)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """The page an account created by the admin lands on at first login (and anyone may use)."""
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit() and _change_password(form):
        flash("密码已修改。", "success")
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/change_password.html", form=form), status


def _account_page(form: PasswordForm, new_token: str | None = None, status: int = 200):
    return render_template(
        "accounts/account.html", form=form, token_form=TokenForm(prefix="tk"), new_token=new_token,
        tokens=services.user_tokens(current_user.id), confirm=ConfirmForm(), languages=LANGUAGES,
    ), status


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm(prefix="tk")
    if not form.validate_on_submit():
        abort(400)
    _, clear = services.create_token(current_user, current_user, form.name.data or "")
    return _account_page(PasswordForm(prefix="pw"), new_token=clear)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.revoke_token(current_user, token_id)
    flash("令牌已吊销。", "success")
    return redirect(url_for("accounts.account"))


# --- admin: accounts --------------------------------------------------------------------------

def _office_only() -> None:
    """Account administration: the office admin, or the system administrator under 三员分立."""
    if not permissions.can(current_user, "accounts.manage"):
        abort(403)


def _user_form(obj=None) -> UserForm:
    form = UserForm(obj=obj)
    form.agency_id.choices = [(a.id, a.name) for a in agencies.search()]
    form.role.choices = [(k, gettext(v)) for k, v in permissions.assignable_roles().items()]
    return form


@bp.get("/users")
@login_required
def users():
    _office_only()
    agency_id = request.args.get("agency_id", type=int)
    q = request.args.get("q", "")
    rows = services.list_users(current_user, agency_id=agency_id, q=q)
    template = "accounts/_user_rows.html" if request.headers.get("HX-Request") else "accounts/users.html"
    return render_template(template, users=rows, q=q, agency_id=agency_id, agencies=agencies.search(),
                           confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    _office_only()
    form = _user_form()
    if form.validate_on_submit():
        try:
            user = services.create_user(current_user, form_data(form), form.password.data or "")
        except DomainError as err:
            getattr(form, err.field or "name").errors.append(err.message)
        else:
            flash(gettext("已创建账号 %(username)s。", username=user.username), "success")
            return redirect(url_for("accounts.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int):
    _office_only()
    user = services.get_user(user_id)
    form = _user_form(obj=user)
    if form.validate_on_submit():
        try:
            services.update_user(current_user, user.id, form_data(form))
        except DomainError as err:
            getattr(form, err.field or "name").errors.append(err.message)
        else:
            flash("账号已保存。", "success")
            return redirect(url_for("accounts.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=user, confirm=ConfirmForm(),
                           open_sessions=sessions.open_sessions(user.id),
                           may_unlock=permissions.can(current_user, "security.unlock")), status


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):
    _office_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    user = services.set_active(current_user, user_id, active)
    flash(gettext("账号 %(username)s 已%(v)s。",
                  username=user.username, v=gettext('启用') if active else gettext('停用')), "success")
    return redirect(url_for("accounts.edit_user", user_id=user_id))


# --- security administrator: lockouts, sessions, the login log -------------------------------

@bp.post("/users/<int:user_id>/unlock")
@login_required
def unlock(user_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = services.unlock(current_user, user_id)
    flash(gettext("账号 %(username)s 已解锁。", username=user.username), "success")
    return redirect(request.referrer if _local_referrer() else url_for("accounts.login_log"))


@bp.post("/users/<int:user_id>/sessions/end")
@login_required
def end_sessions(user_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = services.end_sessions(current_user, user_id)
    flash(gettext("已强制下线 %(count)s 个会话。", count=count), "success")
    return redirect(request.referrer if _local_referrer() else url_for("accounts.login_log"))


def _local_referrer() -> bool:
    return bool(request.referrer and request.referrer.startswith(request.host_url))


def _log_filter() -> tuple[logins.LogFilter, dict]:
    args = request.args
    result = args.get("result", "")
    since = _day(args.get("from", ""))
    until = _day(args.get("to", ""))
    f = logins.LogFilter(
        username=args.get("user", "")[:60],
        success={"ok": True, "fail": False}.get(result),
        since=local_datetime(since, _MIDNIGHT) if since else None,
        until=local_datetime(until, _MIDNIGHT) + timedelta(days=1) if until else None,
    )
    return f, {"user": f.username, "result": result if result in ("ok", "fail") else "",
               "from": since.isoformat() if since else "", "to": until.isoformat() if until else ""}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


_MIDNIGHT = time(0, 0)
LOG_PAGE = 100


@bp.get("/security/logins")
@login_required
def login_log():
    """登录日志: every login attempt and logout, newest first, for the security administrator."""
    permissions.require(current_user, "security.logins")
    f, shown = _log_filter()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    if page > 10_000:
        abort(404)
    rows = logins.events(f, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE)
    return render_template("accounts/login_log.html", rows=rows, page=page, page_size=LOG_PAGE, shown=shown,
                           confirm=ConfirmForm(), may_unlock=permissions.can(current_user, "security.unlock"))


@bp.get("/security/logins.csv")
@login_required
def login_log_csv():
    permissions.require(current_user, "security.logins")
    f, _ = _log_filter()
    return Response(logins.export_csv(f), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=login-log.csv"})
