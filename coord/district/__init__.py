"""A demo district that is alive: records relative to today, made through the services (`seed-demo`)."""
