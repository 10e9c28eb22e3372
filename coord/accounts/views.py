from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from coord.accounts import services
from coord.accounts.forms import ConfirmForm, LoginForm, PasswordForm, TokenForm, UserForm
from coord.agencies import services as agencies
from coord.errors import DomainError
from coord.extensions import limiter
from coord.forms import form_data

bp = Blueprint("accounts", __name__)


def _login_key() -> str:
    return f"{request.remote_addr}|{(request.form.get('username') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key, methods=["POST"],
               error_message="登录尝试过于频繁，请稍后再试。")
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append("用户名或密码不正确。")
        elif not user.active:
            form.username.errors.append("该账号已停用，请联系管理员。")
        else:
            session.permanent = True  # expires after COORD_SESSION_HOURS, not only at browser close
            login_user(user)
            flash(f"欢迎，{user.display_name}。", "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 200 if request.method == "GET" else 400


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as err:
            getattr(form, err.field or "new_password").errors.append(err.message)
        else:
            login_user(current_user)  # keep this session after the version bump
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("accounts.account"))
    return _account_page(form, status=400 if request.method == "POST" else 200)


def _account_page(form: PasswordForm, new_token: str | None = None, status: int = 200):
    return render_template(
        "accounts/account.html", form=form, token_form=TokenForm(prefix="tk"), new_token=new_token,
        tokens=services.user_tokens(current_user.id), confirm=ConfirmForm(),
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
    if not current_user.is_office:
        abort(403)


def _user_form(obj=None) -> UserForm:
    form = UserForm(obj=obj)
    form.agency_id.choices = [(a.id, a.name) for a in agencies.search()]
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
            flash(f"已创建账号 {user.username}。", "success")
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
    return render_template("accounts/user_form.html", form=form, user=user, confirm=ConfirmForm()), status


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):
    _office_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    user = services.set_active(current_user, user_id, active)
    flash(f"账号 {user.username} 已{'启用' if active else '停用'}。", "success")
    return redirect(url_for("accounts.edit_user", user_id=user_id))
