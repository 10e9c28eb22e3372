from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import Optional

from coord.agencies.models import AGENCY_KINDS
from coord.forms import length, required


class AgencyForm(FlaskForm):
    name = StringField("单位名称（简称）", validators=[required(), length(120)])
    full_name = StringField("单位全称（文书使用）", validators=[Optional(), length(200)])
    doc_prefix = StringField("文号代字", validators=[Optional(), length(20)])
    code = StringField("单位代码（英文缩写）", validators=[Optional(), length(40)])
    kind = SelectField("类别", choices=list(AGENCY_KINDS.items()))
    is_sector_authority = BooleanField("行业主管部门")
    is_enforcement = BooleanField("行政执法部门")
    is_police = BooleanField("公安机关")
    email = EmailField("联系邮箱", validators=[Optional(), length(254)])
    phone = StringField("联系电话", validators=[Optional(), length(40)])
    address = StringField("地址", validators=[Optional(), length(200)])
    credit_code = StringField("统一社会信用代码", validators=[Optional(), length(18)])
    active = BooleanField("启用", default=True)
