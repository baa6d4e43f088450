"""The sample API's WSGI entry point: ``gunicorn dev.sample_api.wsgi`` from the project root.

``SAMPLE_API_ISSUER`` (default ``OIDC_ISSUER``, else the local provider) and
``SAMPLE_API_AUDIENCE`` (default ``http://127.0.0.1:8002``, the local provider's API audience);
``SAMPLE_API_REQUIRE_DPOP=1`` takes DPoP-bound tokens only, ``SAMPLE_API_DPOP_NONCE=1`` wants a
server nonce in every DPoP proof.
"""

import os

from dev.sample_api.app import env_flag, make_app

application = make_app(
    issuer=os.environ.get("SAMPLE_API_ISSUER")
    or os.environ.get("OIDC_ISSUER")
    or "http://127.0.0.1:8001",
    audience=os.environ.get("SAMPLE_API_AUDIENCE") or "http://127.0.0.1:8002",
    require_dpop=env_flag("SAMPLE_API_REQUIRE_DPOP"),
    dpop_nonce=env_flag("SAMPLE_API_DPOP_NONCE"),
)
