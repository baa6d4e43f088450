"""Server-side sessions in Redis: the session store, the records kept beside each session, the
index of live sessions, the two clocks (absolute and inactivity) and their policy, and ending a
session. Knows nothing of tokens: the token record is one of the records registered with it."""
