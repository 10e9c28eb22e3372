"""工作台: what needs each user today (sections of one query each), shared by the home page, the badges and the API."""
