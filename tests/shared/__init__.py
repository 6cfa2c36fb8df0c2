"""Limits shared through Redis: the scripts on a fake Redis, the meters and whole jobs on a real
``redis-server`` started for each test (see ``redis_server.py``), several processes at once."""
