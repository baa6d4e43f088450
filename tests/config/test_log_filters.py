import contextlib
import io
import logging

from accounts.log_filters import DropQueryStrings


def test_request_lines_lose_their_query_string():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /auth/callback/?code=SECRETCODE&state=abc HTTP/1.1", "302", "0"),
        None,
    )
    assert DropQueryStrings().filter(record) is True
    message = record.getMessage()
    assert "SECRETCODE" not in message
    assert message.startswith('"GET /auth/callback/?… HTTP/1.1" 302')


def test_other_lines_are_untouched():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login: user %s", (7,), None)
    DropQueryStrings().filter(record)
    assert record.getMessage() == "login: user 7"


@contextlib.contextmanager
def console_output():
    """What the site's console handler prints meanwhile, as configured by LOGGING."""
    (console,) = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.get_name() == "console"
    ]
    captured = io.StringIO()
    original = console.setStream(captured)
    try:
        yield captured
    finally:
        console.setStream(original)


def test_a_request_with_a_foreign_host_logs_one_warning_without_a_traceback(client, settings):
    with console_output() as captured:
        for _ in range(3):
            response = client.get("/", HTTP_HOST="evil.test")
            assert response.status_code == 400
    lines = captured.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert all(" WARNING django.security.DisallowedHost " in line for line in lines)
    assert "evil.test" in lines[0]
    assert "Traceback" not in captured.getvalue()


def test_django_log_lines_are_printed_once():
    with console_output() as captured:
        logging.getLogger("django.request").warning("Not Found: /nowhere")
    assert captured.getvalue().count("Not Found: /nowhere") == 1
    # And nothing else prints it beside the console handler.
    assert logging.getLogger("django").handlers == []
