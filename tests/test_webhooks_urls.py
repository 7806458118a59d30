"""Where webhooks may post: https to public hosts only, checked after resolving the name."""
from __future__ import annotations

import pytest

from messaging.errors import ValidationFailed
from messaging.webhooks.urls import check_url

PUBLIC = "https://93.184.216.34/hooks/sealed"  # a public address literal: no DNS needed


@pytest.mark.parametrize("url, why", [
    ("http://93.184.216.34/hook", "https"),
    ("ftp://93.184.216.34/hook", "https"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10:8443/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://172.16.0.9/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("https://[fd00::1]/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://100.64.0.1/hook", "non-public"),
    ("https://localhost/hook", "loopback"),  # a name: refused for what it resolves to
    ("https://user:pw@93.184.216.34/hook", "password"),
    ("https:///hook", "no host"),
    ("https://nowhere.invalid/hook", "cannot be resolved"),
    ("", "required"),
    ("https://93.184.216.34/" + "a" * 2000, "2000"),
])
def test_refused_urls_say_why(app, ctx, url, why):
    with pytest.raises(ValidationFailed) as refused:
        check_url(url)
    assert why in refused.value.fields["url"], refused.value.fields


def test_a_public_https_url_is_accepted(app, ctx):
    assert check_url(PUBLIC) == PUBLIC
    assert check_url(" https://93.184.216.34:8443/x?y=1 ") == "https://93.184.216.34:8443/x?y=1"


def test_allow_private_lets_tests_post_to_loopback_over_http(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    with app.app_context():
        assert check_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
        assert check_url("https://localhost/hook") == "https://localhost/hook"
        with pytest.raises(ValidationFailed):
            check_url("ftp://127.0.0.1/hook")
