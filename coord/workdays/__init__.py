"""The working-day calendar (工作日 / 调休), the truth for every clock and the scheduler."""
