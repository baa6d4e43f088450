"""Step-up authentication: the level of the login behind a session, and what to do when a page,
a view or an upstream requires more.

``session`` keeps the login's ``acr`` and ``auth_time`` in the session (written by the callback,
read by every check, on the async edge too, where the session dict comes with its one ``MGET``).
``enforcement`` turns a requirement the session does not meet into the error that sends the user
through the provider again (``StepUpRequired``: a redirect for a page, 401 JSON for an API call),
and refuses a login that came back without what it was asked for (``StepUpFailed``). The rule
itself, free of Django, is ``accounts.protocol.step_up``.
"""
