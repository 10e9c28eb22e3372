"""calendar years: official or provisional years, office settings, interviews flagged on a day off

Revision ID: 0014_calendar_years
Revises: 0013_measures
Create Date: 2026-12-01 09:00:00

`calendar_year` holds one row per year of `work_day`, every day of which then has a row: `official`
(the State Council's arrangement, from the `holidays` library or an imported notice) or
`provisional` (statutory holidays and weekends only). Existing years are completed and given their
row; the current year and the years ahead (`COORD_CALENDAR_YEARS_AHEAD`, default 1) are built, so
no clock stops at the end of the year. `interview.off_day` marks a scheduled interview whose day
became a day off.
"""
import os
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_calendar_years'
down_revision = '0013_measures'
branch_labels = None
depends_on = None


def _year_days(year):
    """(official?, source, [(day, is_workday, note, source)]) from the `holidays` library, as the app
    builds them (coord.workdays.years), kept here so the migration never depends on later code."""
    from holidays import __version__
    from holidays.countries.china import China, ChinaStaticHolidays

    official = year in ChinaStaticHolidays.special_public_holidays
    cal = China(years=year, language="zh_CN")
    makeup = {d for d in cal.weekend_workdays if d.year == year} if official else set()
    kind = "holidays" if official else "provisional"
    rows = []
    day = date(year, 1, 1)
    while day.year == year:
        if day in makeup:
            rows.append((day, True, "调休上班", kind))
        elif day in cal:
            rows.append((day, False, cal.get(day)[:80], kind))
        else:
            rows.append((day, day.weekday() < 5, "", kind))
        day += timedelta(days=1)
    source = (f"holidays {__version__}（国务院办公厅通知）" if official
              else f"法定节假日推算（《全国年节及纪念日放假办法》2024年修订，holidays {__version__}）")
    return official, source, rows


def upgrade():
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('notice_text', sa.Text(), nullable=True),
    sa.Column('notice_sha256', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('calendar_setting',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.add_column(sa.Column('off_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('off_day_note', sa.String(length=80), nullable=False, server_default=''))
    _fill_years()


def _fill_years():
    work_day = sa.table('work_day', sa.column('day', sa.Date), sa.column('is_workday', sa.Boolean),
                        sa.column('note', sa.String), sa.column('source', sa.String))
    calendar_year = sa.table('calendar_year', sa.column('year', sa.Integer), sa.column('status', sa.String),
                             sa.column('source', sa.String), sa.column('version', sa.Integer),
                             sa.column('updated_at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    existing = {row[0] for row in conn.execute(sa.select(work_day.c.day))}
    today = datetime.now(ZoneInfo(os.environ.get('COORD_TIMEZONE', 'Asia/Shanghai'))).date()
    ahead = max(0, min(5, int(os.environ.get('COORD_CALENDAR_YEARS_AHEAD', '1') or 1)))
    years = sorted({d.year for d in existing} | set(range(today.year, today.year + ahead + 1)))
    now = datetime.now(timezone.utc)
    for year in years:
        official, source, rows = _year_days(year)
        missing = [r for r in rows if r[0] not in existing]
        if missing:
            op.bulk_insert(work_day, [{'day': d, 'is_workday': w, 'note': n, 'source': s} for d, w, n, s in missing])
        op.bulk_insert(calendar_year, [{'year': year, 'status': 'official' if official else 'provisional',
                                        'source': source, 'version': 1, 'updated_at': now}])


def downgrade():
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.drop_column('off_day_note')
        batch_op.drop_column('off_day')
    op.drop_table('calendar_setting')
    op.drop_table('calendar_year')
