// Local OpenID Connect provider for development and integration tests.
//
// Configured like a small Auth0 tenant: one confidential web client (the BFF),
// authorization code flow with mandatory PKCE S256, JWT access tokens for one
// API audience, rotating refresh tokens with reuse detection, RP-initiated and
// back-channel logout. Built on oidc-provider (panva) 9.x; see README.md.
//
// Everything is kept in memory and every start gets fresh signing keys and
// cookie keys: restarting the provider invalidates all sessions and tokens.
//
// DEV ONLY. It accepts any login/password and exposes unauthenticated /_dev/*
// helper endpoints. It listens on loopback by default; keep it that way.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

// stdout carries only the readiness line and one line per request; the
// library's one-time configuration notices (console.info) go to stderr.
console.info = console.error;

// ---------------------------------------------------------------------------
// Configuration (environment only)
// ---------------------------------------------------------------------------

function fail(message) {
  console.error(`provider: ${message}`);
  process.exit(2);
}

function envString(name, fallback) {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function envInt(name, fallback, { min = 0 } = {}) {
  const raw = envString(name, undefined);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    fail(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function envList(name, fallback) {
  return envString(name, fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

const PORT = envInt('PROVIDER_PORT', 8001, { min: 1 });
const HOST = envString('PROVIDER_HOST', '127.0.0.1');
const ISSUER = envString('PROVIDER_ISSUER', `http://127.0.0.1:${PORT}`).replace(/\/+$/, '');

const CLIENT_ID = envString('CLIENT_ID', 'bff-dev');
const CLIENT_SECRET = envString('CLIENT_SECRET', 'bff-dev-secret-change-me');
const CLIENT_REDIRECT_URIS = envList('CLIENT_REDIRECT_URIS', 'http://127.0.0.1:8000/auth/callback/');
const CLIENT_POST_LOGOUT_REDIRECT_URIS = envList('CLIENT_POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1:8000/');
const CLIENT_BACKCHANNEL_LOGOUT_URI = envString('CLIENT_BACKCHANNEL_LOGOUT_URI', 'http://127.0.0.1:8000/auth/backchannel-logout/');

const API_AUDIENCE = envString('API_AUDIENCE', 'http://127.0.0.1:8002');
// More APIs a client may ask tokens for with RFC 8707 resource indicators.
const API_EXTRA_AUDIENCES = envList('API_EXTRA_AUDIENCES', '');
// 0 registers the client without backchannel_logout_session_required: logout tokens then carry
// only sub, and the RP ends every session of that user.
const CLIENT_BACKCHANNEL_SESSION_REQUIRED = envString('CLIENT_BACKCHANNEL_SESSION_REQUIRED', '1') !== '0';
const API_SCOPES = 'openid profile email offline_access read:notes write:notes';

const ACCESS_TOKEN_TTL = envInt('ACCESS_TOKEN_TTL', 300, { min: 1 });
const ID_TOKEN_TTL = envInt('ID_TOKEN_TTL', 3600, { min: 1 });
const REFRESH_TOKEN_TTL = envInt('REFRESH_TOKEN_TTL', 86400, { min: 1 });
const SESSION_TTL = envInt('SESSION_TTL', 86400, { min: 1 });
const GRANT_TTL = envInt('GRANT_TTL', 86400, { min: 1 });

// Modern OAuth, per client (defaults keep the client as it always was):
// how it authenticates, with its public keys for private_key_jwt (inline or fetched); whether
// PAR is offered and required; whether its access tokens must be DPoP-bound and DPoP proofs
// must carry a nonce this provider issued.
const CLIENT_AUTH_METHOD = envString('CLIENT_AUTH_METHOD', 'client_secret_basic');
const CLIENT_JWKS_URI = envString('CLIENT_JWKS_URI', undefined);
const PAR_ENABLED = envString('PAR', '1') !== '0';
const REQUIRE_PAR = envString('REQUIRE_PAR', '0') === '1';
const DPOP_BOUND_ACCESS_TOKENS = envString('DPOP_BOUND_ACCESS_TOKENS', '0') === '1';
const DPOP_REQUIRE_NONCE = envString('DPOP_REQUIRE_NONCE', '0') === '1';
const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
if (!CLIENT_AUTH_METHODS.includes(CLIENT_AUTH_METHOD)) {
  fail(`CLIENT_AUTH_METHOD must be one of ${CLIENT_AUTH_METHODS.join(', ')}, got ${JSON.stringify(CLIENT_AUTH_METHOD)}`);
}
let CLIENT_JWKS;
{
  const raw = envString('CLIENT_JWKS', undefined);
  if (raw !== undefined) {
    try {
      CLIENT_JWKS = JSON.parse(raw);
    } catch (err) {
      fail(`CLIENT_JWKS is not valid JSON: ${err.message}`);
    }
    if (!Array.isArray(CLIENT_JWKS?.keys) || CLIENT_JWKS.keys.some((k) => k.d !== undefined)) {
      fail('CLIENT_JWKS must be a JWKS ({"keys": [...]}) of public keys only');
    }
  }
  if (CLIENT_AUTH_METHOD === 'private_key_jwt' && !CLIENT_JWKS && !CLIENT_JWKS_URI) {
    fail('CLIENT_AUTH_METHOD=private_key_jwt needs CLIENT_JWKS or CLIENT_JWKS_URI');
  }
  if (CLIENT_JWKS && CLIENT_JWKS_URI) fail('set CLIENT_JWKS or CLIENT_JWKS_URI, not both');
  if (REQUIRE_PAR && !PAR_ENABLED) fail('REQUIRE_PAR=1 needs PAR enabled (PAR=1)');
}

const REFRESH_DELAY_MS = envInt('REFRESH_DELAY_MS', 0);
const LOG_REQUESTS = envString('PROVIDER_LOG', '1') !== '0';
const JWKS_FILE = envString('PROVIDER_JWKS_FILE', undefined);

// Groups per account, as JSON: {"alice": ["bff-staff"]}. They are the ID token's `groups`
// claim; an account without groups has no such claim. POST /_dev/groups changes them.
const accountGroups = new Map();
{
  let parsed;
  try {
    parsed = JSON.parse(envString('ACCOUNT_GROUPS', '{}'));
  } catch (err) {
    fail(`ACCOUNT_GROUPS is not valid JSON: ${err.message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('ACCOUNT_GROUPS must be a JSON object of login -> list of group names');
  }
  for (const [login, groups] of Object.entries(parsed)) {
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
      fail(`ACCOUNT_GROUPS: the groups of ${JSON.stringify(login)} must be a list of strings`);
    }
    accountGroups.set(login, groups);
  }
}

{
  const issuerUrl = URL.parse(ISSUER);
  if (!issuerUrl || !['http:', 'https:'].includes(issuerUrl.protocol)) {
    fail(`PROVIDER_ISSUER must be an http(s) URL, got ${JSON.stringify(ISSUER)}`);
  }
  // The provider is mounted at the root of the server, so the issuer has to be
  // a bare origin; otherwise discovery and the endpoints would disagree.
  if (issuerUrl.pathname !== '/' || issuerUrl.search || issuerUrl.hash) {
    fail(`PROVIDER_ISSUER must be an origin without a path, got ${JSON.stringify(ISSUER)}`);
  }
}

// ---------------------------------------------------------------------------
// Signing keys
// ---------------------------------------------------------------------------

// RFC 7638 JWK thumbprint, used as the kid of generated keys.
function rsaThumbprint({ e, n }) {
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

function loadJwks() {
  if (JWKS_FILE) {
    let jwks;
    try {
      jwks = JSON.parse(readFileSync(resolvePath(JWKS_FILE), 'utf8'));
    } catch (err) {
      fail(`cannot read PROVIDER_JWKS_FILE ${JSON.stringify(JWKS_FILE)}: ${err.message}`);
    }
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) {
      fail('PROVIDER_JWKS_FILE must contain a JWKS ({"keys": [...]}) with private keys');
    }
    if (!jwks.keys.some((k) => k.kty === 'RSA' && k.d)) {
      fail('PROVIDER_JWKS_FILE must contain at least one private RSA key (RS256 is used for every token)');
    }
    return jwks;
  }

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: rsaThumbprint(jwk), alg: 'RS256', use: 'sig' }] };
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

// In-memory adapter. oidc-provider's bundled MemoryAdapter is an LRU capped at
// 1000 entries, which silently evicts grants, sessions and refresh tokens
// during long test runs. This one only drops entries when they expire, and
// lets /_dev/revoke-grants find grants by account.
const CLOCK_TOLERANCE = 15; // seconds, matches the provider's clockTolerance default
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of store keys
const sessionUids = new Map(); // session uid -> session id
const userCodes = new Map(); // device flow user code -> id

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    storeDelete(key);
    return undefined;
  }
  return entry;
}

function storeDelete(key) {
  const entry = store.get(key);
  if (!entry) return;
  store.delete(key);
  const { grantId, uid, userCode } = entry.payload;
  if (grantId) {
    const members = grantMembers.get(grantId);
    members?.delete(key);
    if (members?.size === 0) grantMembers.delete(grantId);
  }
  const id = key.slice(key.indexOf(':') + 1);
  if (uid && sessionUids.get(uid) === id) sessionUids.delete(uid);
  if (userCode && userCodes.get(userCode) === id) userCodes.delete(userCode);
}

function sweepExpired() {
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt <= now) storeDelete(key);
  }
}
setInterval(sweepExpired, 60_000).unref();

class DevMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    storeDelete(key);
    const expiresAt = typeof expiresIn === 'number'
      ? Date.now() + (expiresIn + CLOCK_TOLERANCE) * 1000
      : Infinity;
    store.set(key, { payload: structuredClone(payload), expiresAt });
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
  }

  async find(id) {
    const entry = storeGet(this.key(id));
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = storeGet(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    storeDelete(this.key(id));
  }

  // Removes every token/code issued under the grant, whatever its model.
  async revokeByGrantId(grantId) {
    for (const key of [...(grantMembers.get(grantId) ?? [])]) storeDelete(key);
    grantMembers.delete(grantId);
  }
}

function grantIdsForAccount(accountId) {
  const ids = [];
  for (const [key, entry] of store) {
    if (key.startsWith('Grant:') && entry.payload.accountId === accountId
        && entry.expiresAt > Date.now()) {
      ids.push(key.slice('Grant:'.length));
    }
  }
  return ids;
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

// Any account id is valid. The dev login form passes the login name through;
// it is trimmed before it becomes the session's account id (see below).
async function findAccount(ctx, id) {
  const login = String(id);
  const name = login.charAt(0).toUpperCase() + login.slice(1);
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        name,
        given_name: name,
        family_name: 'Example',
        preferred_username: login,
        email: `${login}@example.test`,
        email_verified: true,
        ...(accountGroups.get(login)?.length ? { groups: accountGroups.get(login) } : {}),
      };
    },
  };
}

// ---------------------------------------------------------------------------
// Authentication levels (acr) for step-up
// ---------------------------------------------------------------------------

// Weakest first. The dev login form stands for both: a login asked for
// urn:dev:loa:2 (acr_values) counts as if a second factor had been checked.
// A login asked for none of these (or for nothing) is urn:dev:loa:1, as a
// provider that ignores acr_values it does not support would do.
const ACR_VALUES = ['urn:dev:loa:1', 'urn:dev:loa:2'];

function requestedAcrs(params) {
  return String(params?.acr_values ?? '').split(' ').filter((v) => ACR_VALUES.includes(v));
}

// The first requested level this provider has, in the request's order of preference.
function acrForLogin(params) {
  return requestedAcrs(params)[0] ?? ACR_VALUES[0];
}

// acr_values are voluntary (OIDC Core 3.1.2.1), and oidc-provider only asks
// for a new login when an acr is requested as essential (claims parameter).
// Like Keycloak's step-up, this asks for one whenever the session's level is
// not among the supported levels the request names; one it does not support
// is ignored, and the ID token says which level the session has.
const stepUpPolicy = interactionPolicy.base();
stepUpPolicy.get('login').checks.add(new interactionPolicy.Check(
  'acr_values_not_met',
  'the requested authentication level was not reached',
  (ctx) => {
    const requested = requestedAcrs(ctx.oidc.params);
    if (!requested.length || !ctx.oidc.session.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    return requested.includes(ctx.oidc.session.acr)
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT;
  },
));

// ---------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------

const BACKCHANNEL_ORIGIN = URL.parse(CLIENT_BACKCHANNEL_LOGOUT_URI)?.origin;
const CLIENT_JWKS_ORIGIN = CLIENT_JWKS_URI ? URL.parse(CLIENT_JWKS_URI)?.origin : undefined;

const resourceServer = {
  scope: API_SCOPES,
  audience: API_AUDIENCE,
  accessTokenFormat: 'jwt',
  accessTokenTTL: ACCESS_TOKEN_TTL,
  jwt: { sign: { alg: 'RS256' } },
};

const configuration = {
  adapter: DevMemoryAdapter,
  jwks: loadJwks(),
  cookies: {
    // Cookies are not isolated by port, and the RP runs on the same host
    // (127.0.0.1:8000), so use names that cannot collide with the RP's.
    names: {
      session: 'op_session',
      interaction: 'op_interaction',
      resume: 'op_interaction_resume',
    },
    keys: [randomBytes(32).toString('base64url')],
  },

  // http:// redirect, post-logout and back-channel URIs on 127.0.0.1 are
  // accepted as-is for application_type 'web': oidc-provider 9 only rejects
  // http/localhost web redirect URIs for clients using the implicit grant,
  // and this client is code-only. Nothing needs relaxing for loopback dev.
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'BFF (dev)',
    application_type: 'web',
    // client_secret_post is accepted for this client too; oidc-provider treats
    // basic and post as interchangeable for a secret-based client. With
    // private_key_jwt the secret is refused at every endpoint (token, PAR, revocation).
    token_endpoint_auth_method: CLIENT_AUTH_METHOD,
    ...(CLIENT_JWKS ? { jwks: CLIENT_JWKS } : {}),
    ...(CLIENT_JWKS_URI ? { jwks_uri: CLIENT_JWKS_URI } : {}),
    ...(REQUIRE_PAR ? { require_pushed_authorization_requests: true } : {}),
    ...(DPOP_BOUND_ACCESS_TOKENS ? { dpop_bound_access_tokens: true } : {}),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    redirect_uris: CLIENT_REDIRECT_URIS,
    post_logout_redirect_uris: CLIENT_POST_LOGOUT_REDIRECT_URIS,
    backchannel_logout_uri: CLIENT_BACKCHANNEL_LOGOUT_URI,
    backchannel_logout_session_required: CLIENT_BACKCHANNEL_SESSION_REQUIRED,
  }],

  responseTypes: ['code'],
  clientAuthMethods: CLIENT_AUTH_METHOD === 'private_key_jwt'
    ? CLIENT_AUTH_METHODS : ['client_secret_basic', 'client_secret_post'],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    // Like Keycloak's group mapper: the groups come with every ID token, no scope needed.
    // acr and auth_time too, as Keycloak sends them: the RP can see the level of any login.
    openid: ['sub', 'groups', 'acr', 'auth_time'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
  },
  // Put scope-requested claims into the ID token so the RP needs no userinfo
  // call. (The access token is for the API audience and is not accepted by
  // the userinfo endpoint anyway.)
  conformIdTokenClaims: false,
  findAccount,

  acrValues: ACR_VALUES,
  interactions: { policy: stepUpPolicy },
  // RFC 9068 2.2.1: the API's JWT access tokens say how and when the user
  // authenticated too, so an API can require a level (RFC 9470).
  async extraTokenClaims(ctx) {
    const source = ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken;
    if (!source?.acr) return undefined;
    return { acr: source.acr, ...(source.authTime ? { auth_time: source.authTime } : {}) };
  },

  // The only outgoing requests this provider makes are the back-channel logout
  // POST to the RP and, with CLIENT_JWKS_URI, the fetch of the client's keys.
  // oidc-provider's fetch guard refuses loopback and private addresses (SSRF
  // protection), which is exactly where the RP runs in dev, so the guard is
  // dropped for those two configured origins only.
  fetch(url, options) {
    const { origin } = new URL(url);
    if (origin === BACKCHANNEL_ORIGIN || origin === CLIENT_JWKS_ORIGIN) {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options);
  },

  pkce: { required: () => true },

  // Refresh tokens are issued for offline_access requested with prompt=consent
  // (the library's default rule) and are rotated on every use. Presenting a
  // consumed refresh token revokes the whole grant.
  rotateRefreshToken: true,

  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    IdToken: ID_TOKEN_TTL,
    RefreshToken: REFRESH_TOKEN_TTL,
    Session: SESSION_TTL,
    Grant: GRANT_TTL,
    Interaction: 3600,
  },

  features: {
    devInteractions: { enabled: true },
    // RFC 9126. On by default (the library's default); REQUIRE_PAR also says so in discovery
    // (require_pushed_authorization_requests), so an RP that reads it knows before it tries.
    pushedAuthorizationRequests: {
      enabled: PAR_ENABLED,
      requirePushedAuthorizationRequests: PAR_ENABLED && REQUIRE_PAR,
    },
    // RFC 9449. Nonces are always available (a proof whose iat is too old is answered with a
    // nonce challenge); DPOP_REQUIRE_NONCE demands one in every proof.
    dPoP: {
      enabled: true,
      nonceSecret: randomBytes(32),
      requireNonce: () => DPOP_REQUIRE_NONCE,
    },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource parameter at /auth: the API is the resource.
      // At the token endpoint (oneOf given): pick the API if it was granted.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf.includes(API_AUDIENCE) ? API_AUDIENCE : oneOf;
        return API_AUDIENCE;
      },
      // Token requests without a resource parameter get the granted resource
      // (the API) instead of a userinfo-only access token.
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator === API_AUDIENCE) return resourceServer;
        if (API_EXTRA_AUDIENCES.includes(resourceIndicator)) {
          return { ...resourceServer, audience: resourceIndicator };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
};

const provider = new Provider(ISSUER, configuration);

// The dev login form passes the typed login through unchanged; trim it so the
// subject does not depend on stray whitespace. The login gets the level the
// request asked for (acrForLogin).
{
  const interactionResult = provider.interactionResult.bind(provider);
  provider.interactionResult = async (req, res, result, options) => {
    let outcome = result;
    if (typeof result?.login?.accountId === 'string') {
      const accountId = result.login.accountId.trim();
      const { params } = await provider.interactionDetails(req, res);
      outcome = accountId
        ? { ...result, login: { ...result.login, accountId, acr: acrForLogin(params) } }
        : { error: 'access_denied', error_description: 'login must not be blank' };
    }
    return interactionResult(req, res, outcome, options);
  };
}

// ---------------------------------------------------------------------------
// Token endpoint instrumentation: stats, REFRESH_DELAY_MS, reuse detection
// ---------------------------------------------------------------------------

const stats = { refresh_grants: 0, authorization_code_grants: 0, refresh_failures: 0 };
const TOKEN_PATH = new URL(provider.pathFor('token'), ISSUER).pathname;
const BODY_LIMIT = 56 * 1024; // same limit oidc-provider applies

async function readRawBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

// Refresh requests for the same refresh token are processed one at a time.
// oidc-provider checks "already consumed" and then consumes in separate async
// steps, so two concurrent uses of one token could otherwise both succeed.
// A real provider's store makes this atomic; serialising here gives the same
// deterministic result: the second use is a reuse (invalid_grant, grant revoked).
const refreshLocks = new Map();
async function withRefreshLock(key, fn) {
  const previous = refreshLocks.get(key) ?? Promise.resolve();
  let release;
  const current = previous.then(() => new Promise((r) => { release = r; }));
  refreshLocks.set(key, current);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (refreshLocks.get(key) === current) refreshLocks.delete(key);
  }
}

provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH
      || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }

  // Read the form body here so the grant type is known on arrival; hand the
  // raw bytes on via req.body, which oidc-provider parses as its own fallback
  // (it logs a one-time "already parsed request body" warning for this).
  let raw;
  try {
    raw = await readRawBody(ctx.req);
  } catch {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: 'failed to read the request body' };
    return undefined;
  }
  ctx.req.body = raw;
  const form = new URLSearchParams(raw.toString('utf8'));
  const grantType = form.get('grant_type');

  if (grantType === 'authorization_code') {
    stats.authorization_code_grants += 1;
    return next();
  }
  if (grantType !== 'refresh_token') return next();

  stats.refresh_grants += 1;
  try {
    if (REFRESH_DELAY_MS > 0) await sleep(REFRESH_DELAY_MS);
    await withRefreshLock(form.get('refresh_token') ?? '', next);
  } finally {
    if (ctx.status < 200 || ctx.status > 299) stats.refresh_failures += 1;
  }
  return undefined;
});

// Error details go to stderr (error codes and descriptions only; these never
// contain token, code or secret values).
if (LOG_REQUESTS) {
  for (const event of [
    'authorization.error', 'grant.error', 'end_session.error', 'end_session_confirm.error',
    'revocation.error', 'introspection.error', 'userinfo.error', 'backchannel.error',
  ]) {
    provider.on(event, (ctx, err) => {
      const description = err?.error_description ? `: ${err.error_description}` : '';
      const cause = err?.error_detail ?? err?.cause?.message;
      const detail = cause ? ` (${cause})` : '';
      console.error(`  ${event} ${err?.error ?? err?.message ?? err}${description}${detail}`);
    });
  }
  provider.on('server_error', (ctx, err) => {
    console.error(`  server_error ${err?.stack ?? err}`);
  });
}

// ---------------------------------------------------------------------------
// Dev-only helper endpoints
// ---------------------------------------------------------------------------

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

async function revokeGrantsFor(accountId) {
  const grantIds = grantIdsForAccount(accountId);
  for (const grantId of grantIds) {
    await Promise.all([
      provider.RefreshToken.revokeByGrantId(grantId),
      provider.AccessToken.revokeByGrantId(grantId),
      provider.AuthorizationCode.revokeByGrantId(grantId),
    ]);
    const grant = await provider.Grant.find(grantId);
    await grant?.destroy();
  }
  return grantIds.length;
}

// Returns true when the request was handled here.
async function handleDevEndpoint(req, res, url) {
  if (!url.pathname.startsWith('/_dev/')) return false;
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /_dev/stats':
      sendJson(res, 200, stats);
      break;
    case 'POST /_dev/stats/reset':
      stats.refresh_grants = 0;
      stats.authorization_code_grants = 0;
      stats.refresh_failures = 0;
      sendJson(res, 200, stats);
      break;
    case 'POST /_dev/revoke-grants': {
      const sub = url.searchParams.get('sub');
      if (!sub) {
        sendJson(res, 400, { error: 'invalid_request', error_description: 'sub query parameter is required' });
        break;
      }
      sendJson(res, 200, { sub, revoked_grants: await revokeGrantsFor(sub) });
      break;
    }
    case 'POST /_dev/groups': {
      const sub = url.searchParams.get('sub');
      let groups;
      try {
        groups = JSON.parse((await readRawBody(req)).toString('utf8') || '[]');
      } catch {
        groups = undefined;
      }
      if (!sub || !Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
        sendJson(res, 400, { error: 'invalid_request', error_description: 'sub query parameter and a JSON list of group names are required' });
        break;
      }
      if (groups.length) accountGroups.set(sub, groups);
      else accountGroups.delete(sub);
      sendJson(res, 200, { sub, groups });
      break;
    }
    default:
      sendJson(res, 404, { error: 'not_found' });
  }
  return true;
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

const handleOidc = provider.callback();

const server = createServer(async (req, res) => {
  // Path only: query strings carry codes, states and hints, which must not be logged.
  const url = new URL(req.url ?? '/', 'http://provider.invalid');
  if (LOG_REQUESTS) {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      const status = res.writableFinished ? res.statusCode : `${res.statusCode} (aborted)`;
      console.log(`${req.method} ${url.pathname} ${status} ${ms}ms`);
    });
  }
  try {
    if (!(await handleDevEndpoint(req, res, url))) handleOidc(req, res);
  } catch (err) {
    console.error(`  dev endpoint error ${err?.stack ?? err}`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    else res.destroy();
  }
});

server.on('error', (err) => fail(`cannot listen on ${HOST}:${PORT}: ${err.message}`));
server.listen(PORT, HOST, () => {
  console.log(`provider listening on ${ISSUER}`);
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`provider stopping (${signal})`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Requests still in flight (e.g. a delayed refresh) get a moment to finish.
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 3000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
