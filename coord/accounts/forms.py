from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Optional

from coord.accounts.models import ROLES
from coord.forms import length, required


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[required("请输入用户名。"), length(60)])
    password = PasswordField(_l("密码"), validators=[required("请输入密码。"), length(200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[required()])
    new_password = PasswordField(_l("新密码"), validators=[required(), length(200)])
    confirm = PasswordField(_l("确认新密码"), validators=[required()])

    def validate_confirm(self, field) -> None:
        from wtforms import ValidationError

        if field.data != self.new_password.data:
            raise ValidationError(_l("两次输入的新密码不一致。"))


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[Optional(), length(60)])
    name = StringField(_l("姓名"), validators=[required(), length(60)])
    agency_id = SelectField(_l("所属单位"), coerce=int, validate_choice=False)
    role = SelectField(_l("角色"), choices=[(k, _l(v)) for k, v in ROLES.items()])
    email = EmailField(_l("电子邮箱"), validators=[Optional(), length(254)])
    phone = StringField(_l("电话"), validators=[Optional(), length(40)])
    post = StringField(_l("职务"), validators=[Optional(), length(60)])
    cert_number = StringField(_l("执法证号"), validators=[Optional(), length(40)])
    password = PasswordField(_l("初始密码"), validators=[Optional(), length(200)])


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[Optional(), length(80)])


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change state."""

    confirm = BooleanField(default=True)
