import logging

from config.log_filters import DropQueryStrings


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
