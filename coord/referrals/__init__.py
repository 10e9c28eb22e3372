"""Lead referral with reply tracking (线索移交与回复) and referral of suspected crimes to the police.

Policy §五(四): enforcement agencies verify the leads that sector authorities hand over and reply
with how they were handled; suspected crimes go to the police (国务院令第310号).
"""
