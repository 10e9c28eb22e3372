from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import Optional

from coord.agencies.models import AGENCY_KINDS
from coord.forms import length, required


class AgencyForm(FlaskForm):
    name = StringField(_l("单位名称（简称）"), validators=[required(), length(120)])
    full_name = StringField(_l("单位全称（文书使用）"), validators=[Optional(), length(200)])
    doc_prefix = StringField(_l("文号代字"), validators=[Optional(), length(20)])
    code = StringField(_l("单位代码（英文缩写）"), validators=[Optional(), length(40)])
    kind = SelectField(_l("类别"), choices=[(k, _l(v)) for k, v in AGENCY_KINDS.items()])
    is_sector_authority = BooleanField(_l("行业主管部门"))
    is_enforcement = BooleanField(_l("行政执法部门"))
    is_police = BooleanField(_l("公安机关"))
    email = EmailField(_l("联系邮箱"), validators=[Optional(), length(254)])
    phone = StringField(_l("联系电话"), validators=[Optional(), length(40)])
    address = StringField(_l("地址"), validators=[Optional(), length(200)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[Optional(), length(18)])
    active = BooleanField(_l("启用"), default=True)
