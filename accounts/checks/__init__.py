"""System checks for the accounts app, by what they look at. IDs are listed in
docs/configuration.md; never reuse one.

Missing configuration is reported here (not by a crash in settings.py) so that one
``manage.py check`` lists every missing variable at once; ``config.startup`` runs these checks
under gunicorn too. Importing this package registers them all.
"""

from accounts.checks.admin_access import (
    check_password_login_throttle,
    check_someone_can_be_staff,
    check_staff_groups,
)
from accounts.checks.client_auth import (
    check_client_authentication,
    check_dpop,
    check_pushed_authorization,
)
from accounts.checks.configuration import (
    KNOWN_PROVIDERS,
    check_middleware_order,
    check_mozilla_oidc_settings,
    check_oidc_client,
    check_session_cache_serializer,
    check_session_engine,
    check_site_url,
)
from accounts.checks.policy import check_session_policy_advice
from accounts.checks.redis_cluster import check_session_cache_on_a_cluster
from accounts.checks.resource_server import check_resource_server, check_resource_server_dpop
from accounts.checks.security import (
    _PUBLIC_SECRETS,
    check_cookie_flags,
    check_public_secrets,
    check_secret_key,
    check_token_encryption_keys,
)
from accounts.checks.step_up import (
    check_login_timeout,
    check_step_up_parameters,
    check_unread_login_settings,
)

__all__ = [
    "KNOWN_PROVIDERS",
    "_PUBLIC_SECRETS",
    "check_client_authentication",
    "check_cookie_flags",
    "check_dpop",
    "check_login_timeout",
    "check_middleware_order",
    "check_mozilla_oidc_settings",
    "check_oidc_client",
    "check_password_login_throttle",
    "check_public_secrets",
    "check_pushed_authorization",
    "check_resource_server",
    "check_resource_server_dpop",
    "check_secret_key",
    "check_session_cache_on_a_cluster",
    "check_session_cache_serializer",
    "check_session_engine",
    "check_session_policy_advice",
    "check_site_url",
    "check_someone_can_be_staff",
    "check_staff_groups",
    "check_step_up_parameters",
    "check_token_encryption_keys",
    "check_unread_login_settings",
]
