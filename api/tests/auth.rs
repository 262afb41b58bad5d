//! Authentication and authorisation over real HTTP.
mod common;

use common::{code, data, exec, TestApp};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

#[tokio::test]
async fn anonymous_requests_get_only_health() {
    let app = TestApp::start().await;
    let res = app.gql_raw(None, None, "{ health { status } }", json!({})).await;
    assert_eq!(data(&res, "health.status"), "ok");
    let res = app.gql_raw(None, None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED");
    let res = app.gql_raw(None, None, "{ projects { totalCount } }", json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_expired_and_malformed_tokens_are_refused() {
    let app = TestApp::start().await;
    let user = app.user().await;
    let send = |auth: String| {
        let app = &app;
        async move {
            let resp = app
                .client
                .post(format!("{}/graphql", app.base))
                .header("authorization", auth)
                .json(&json!({ "query": "{ me { id } }" }))
                .send()
                .await
                .expect("request");
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.expect("json"))
        }
    };
    // Signed with another secret.
    let forged = api::auth::Keys::new("not-the-secret").mint(user.id, None, Some(user.email.clone()), 600).unwrap();
    let (status, body) = send(format!("Bearer {forged}")).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("signature"));
    // Expired an hour ago (beyond the default leeway).
    let expired = app.keys.mint(user.id, None, Some(user.email.clone()), -3600).unwrap();
    let (status, body) = send(format!("Bearer {expired}")).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"));
    // Not a JWT, and not a bearer header.
    let (status, body) = send("Bearer not.a.jwt".into()).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    let (status, body) = send(format!("Token {}", user.token)).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    // A valid signature over a sub that is not a UUID.
    let claims = json!({ "sub": "alice", "exp": chrono::Utc::now().timestamp() + 600 });
    let odd = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret")).unwrap();
    let (status, body) = send(format!("Bearer {odd}")).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn tenant_comes_from_header_or_claim_and_membership_is_checked() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let stranger = app.user().await;

    let res = app.gql(&owner, Some(tenant), "{ tenant { id } }", json!({})).await;
    assert_eq!(data(&res, "tenant.id"), &json!(tenant.to_string()));
    // The same through a tenant_id claim.
    let claimed = app.keys.mint(owner.id, Some(tenant), Some(owner.email.clone()), 600).unwrap();
    let res = app.gql_raw(Some(&format!("Bearer {claimed}")), None, "{ tenant { id } }", json!({})).await;
    assert_eq!(data(&res, "tenant.id"), &json!(tenant.to_string()));

    // A non-member naming the tenant is refused, whether by header or by claim.
    let res = app.gql(&stranger, Some(tenant), "{ tenant { id } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let claimed = app.keys.mint(stranger.id, Some(tenant), Some(stranger.email.clone()), 600).unwrap();
    let res = app.gql_raw(Some(&format!("Bearer {claimed}")), None, "{ projects { totalCount } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN");
    // No tenant chosen for a tenant query: a clear input error.
    let res = app.gql(&owner, None, "{ projects { totalCount } }", json!({})).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    // X-Tenant-Id may name the tenant by its slug, as `atlas token` does; another tenant's slug is
    // refused as its id is, and a value that is neither is an input error. Status and code agree.
    let res = app.gql(&owner, Some(tenant), "{ tenant { slug } }", json!({})).await;
    let slug = data(&res, "tenant.slug").as_str().unwrap().to_string();
    let theirs = app.tenant(&stranger).await;
    let res = app.gql(&stranger, Some(theirs), "{ tenant { slug } }", json!({})).await;
    let their_slug = data(&res, "tenant.slug").as_str().unwrap().to_string();
    for (header, status, expect) in [
        (slug.as_str(), 200, None),
        (their_slug.as_str(), 403, Some("FORBIDDEN")),
        ("Acme Corp!", 400, Some("BAD_USER_INPUT")),
    ] {
        let resp = app
            .client
            .post(format!("{}/graphql", app.base))
            .header("authorization", format!("Bearer {}", owner.token))
            .header("x-tenant-id", header)
            .json(&json!({ "query": "{ tenant { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{header}");
        let body: serde_json::Value = resp.json().await.unwrap();
        match expect {
            None => assert_eq!(data(&body, "tenant.id"), &json!(tenant.to_string()), "{body}"),
            Some(c) => assert_eq!(code(&body), c, "{header}: {body}"),
        }
    }
    // The same in a WebSocket's connection_init: the socket acts in the tenant the slug names.
    let mut ws = common::ws::connect(&app, common::ws::Protocol::TransportWs).await;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", owner.token), "X-Tenant-Id": slug } });
    common::ws::send(&mut ws, init).await;
    let ack = common::ws::next(&mut ws, std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let q = "subscription($id: UUID) { taskUpdated(id: $id) { op } }";
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": q, "variables": { "id": uuid::Uuid::now_v7() } } });
    common::ws::send(&mut ws, sub).await;
    let msg = common::ws::next(&mut ws, std::time::Duration::from_secs(10)).await.unwrap();
    // NOT_FOUND, not "choose a tenant": the tenant was resolved.
    assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{msg}");
}

#[tokio::test]
async fn pending_members_are_refused() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let user = app.user().await;
    let member = app.join(&owner, tenant, &user, "MEMBER").await;
    let res = app.gql(&user, Some(tenant), "{ tenant { id } }", json!({})).await;
    assert!(res.get("errors").is_none(), "{res}");
    // Pending is a state no API call grants (join requests come later): arrange it as the owner.
    let owner_db = app.owner_db().await;
    exec(
        &owner_db,
        "UPDATE tenant_members SET role = 'pending' WHERE tenant_id = $1 AND id = $2",
        vec![tenant.into(), member.into()],
    )
    .await
    .unwrap();
    let res = app.gql(&user, Some(tenant), "{ tenant { id } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("pending"), "{res}");
    // They still see the tenant among theirs, as pending.
    let res = app.gql(&user, None, "{ myTenants { role tenant { id } } }", json!({})).await;
    assert_eq!(data(&res, "myTenants")[0]["role"], "PENDING");
}

#[tokio::test]
async fn roles_gate_mutations() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let viewer = app.user().await;
    app.join(&owner, tenant, &viewer, "VIEWER").await;
    let member = app.user().await;
    let member_id = app.join(&owner, tenant, &member, "MEMBER").await;

    let create = "mutation { createProject(input: { name: \"P\" }) { id } }";
    let res = app.gql(&viewer, Some(tenant), create, json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN");
    // Viewers still read.
    let res = app.gql(&viewer, Some(tenant), "{ projects { totalCount } }", json!({})).await;
    assert!(res.get("errors").is_none(), "{res}");
    // Members create, but cannot invite or change roles, or delete projects.
    let res = app.gql(&member, Some(tenant), create, json!({})).await;
    let project = data(&res, "createProject.id").clone();
    let res = app
        .gql(&member, Some(tenant), "mutation { inviteMember(input: { email: \"x@y.io\" }) { token } }", json!({}))
        .await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app
        .gql(
            &member,
            Some(tenant),
            "mutation($id: UUID!) { updateMemberRole(id: $id, role: ADMIN) { id } }",
            json!({ "id": member_id }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app
        .gql(&member, Some(tenant), "mutation($id: UUID!) { deleteProject(id: $id) { id } }", json!({ "id": project }))
        .await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app
        .gql(&owner, Some(tenant), "mutation($id: UUID!) { deleteProject(id: $id) { id } }", json!({ "id": project }))
        .await;
    assert_eq!(data(&res, "deleteProject.id"), &project);
}

/// An identity provider's key set, served over real HTTP by a server of the test's own (as
/// Supabase Auth serves `/.well-known/jwks.json`); `set` rotates it, `hits` counts fetches.
struct JwksServer {
    url: String,
    keys: std::sync::Arc<std::sync::Mutex<serde_json::Value>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    fn start(keys: serde_json::Value) -> Self {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/auth/v1/.well-known/jwks.json", listener.local_addr().expect("addr"));
        let keys = std::sync::Arc::new(std::sync::Mutex::new(keys));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (k, h) = (keys.clone(), hits.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let (k, h) = (k.clone(), h.clone());
                    App::new().route(
                        "/auth/v1/.well-known/jwks.json",
                        web::get().to(move || {
                            let (k, h) = (k.clone(), h.clone());
                            async move {
                                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                let body = k.lock().expect("keys").clone();
                                HttpResponse::Ok().json(body)
                            }
                        }),
                    )
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = server.await;
            })
        });
        Self { url, keys, hits }
    }

    fn set(&self, keys: serde_json::Value) {
        *self.keys.lock().expect("keys") = keys;
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A private key of the fixtures, and its public half as a JWK named `kid`.
fn provider_key(pem: &[u8], alg: jsonwebtoken::Algorithm, kid: &str) -> (EncodingKey, serde_json::Value) {
    let key = match alg {
        jsonwebtoken::Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
        _ => EncodingKey::from_rsa_pem(pem),
    }
    .expect("fixture key");
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, alg).expect("jwk");
    jwk.common.key_id = Some(kid.to_string());
    (key, serde_json::to_value(jwk).expect("jwk json"))
}

const RS256: &[u8] = include_bytes!("fixtures/jwt-rs256.pem");
const RS256_NEXT: &[u8] = include_bytes!("fixtures/jwt-rs256-next.pem");
const ES256: &[u8] = include_bytes!("fixtures/jwt-es256.pem");

/// Issue 15, item 11: tokens of an identity provider, checked as Supabase Auth issues them
/// (RS256 or ES256 from a JWKS, `aud: authenticated`, an issuer), with `nbf`, audience and issuer
/// enforced, the key set cached, refreshed for an unknown `kid`, and no algorithm confusion.
#[tokio::test]
async fn identity_provider_tokens_are_checked_against_its_jwks() {
    use jsonwebtoken::Algorithm::{ES256 as Es, HS256 as Hs, RS256 as Rs};
    let (rsa, rsa_jwk) = provider_key(RS256, Rs, "rsa-1");
    let (ec, ec_jwk) = provider_key(ES256, Es, "ec-1");
    let (next, next_jwk) = provider_key(RS256_NEXT, Rs, "rsa-2");
    let idp = JwksServer::start(json!({ "keys": [rsa_jwk, ec_jwk] }));
    let issuer = idp.url.trim_end_matches("/.well-known/jwks.json").to_string();
    let mut config = common::test_config();
    config.token_rules = api::auth::TokenRules {
        audience: vec!["authenticated".into()],
        issuer: vec![issuer.clone()],
        jwks_url: Some(idp.url.clone()),
    };
    let app = TestApp::start_with(config).await;

    let now = chrono::Utc::now().timestamp();
    let sub = uuid::Uuid::now_v7();
    let email = format!("idp-{}@test.atlas", sub.simple());
    let claims = |extra: serde_json::Value| {
        let mut c = json!({ "sub": sub, "email": email, "aud": "authenticated", "iss": issuer,
                            "role": "authenticated", "iat": now, "exp": now + 600 });
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let sign = |alg, kid: Option<&str>, key: &EncodingKey, c: &serde_json::Value| {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        encode(&header, c, key).expect("sign")
    };
    let me = |token: String| {
        let app = &app;
        async move { app.gql_raw(Some(&format!("Bearer {token}")), None, "{ me { id email } }", json!({})).await }
    };

    // RS256 and ES256 from the set: the user is provisioned from the token, as with Supabase.
    let res = me(sign(Rs, Some("rsa-1"), &rsa, &claims(json!({})))).await;
    assert_eq!(data(&res, "me.id"), &json!(sub.to_string()), "{res}");
    let res = me(sign(Es, Some("ec-1"), &ec, &claims(json!({})))).await;
    assert_eq!(data(&res, "me.email"), &json!(email), "{res}");
    assert_eq!(idp.hits(), 1, "the set is fetched once and cached");

    let refused = |res: &serde_json::Value, says: &str| {
        assert_eq!(code(res), "UNAUTHENTICATED", "{res}");
        let message = res["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{says:?} in {res}");
    };
    // Audience, issuer and nbf are enforced; aud and iss are required once configured.
    refused(&me(sign(Rs, Some("rsa-1"), &rsa, &claims(json!({ "aud": "someone-else" })))).await, "audience");
    refused(&me(sign(Rs, Some("rsa-1"), &rsa, &claims(json!({ "iss": "https://evil.test" })))).await, "issuer");
    refused(&me(sign(Rs, Some("rsa-1"), &rsa, &claims(json!({ "nbf": now + 3600 })))).await, "not valid yet");
    let mut no_aud = claims(json!({}));
    no_aud.as_object_mut().expect("object").remove("aud");
    refused(&me(sign(Rs, Some("rsa-1"), &rsa, &no_aud)).await, "lacks the aud claim");
    // A key of the set used for another algorithm, a token without a kid, and the classic
    // confusion: HS256 "signed" with the provider's public key, which is no secret.
    refused(&me(sign(Rs, None, &rsa, &claims(json!({})))).await, "kid");
    let public_pem = serde_json::to_string(&idp.keys.lock().expect("keys")["keys"][0]).expect("jwk");
    let confused = sign(Hs, Some("rsa-1"), &EncodingKey::from_secret(public_pem.as_bytes()), &claims(json!({})));
    refused(&me(confused).await, "signature");
    let forged = EncodingKey::from_rsa_pem(RS256_NEXT).expect("key");
    refused(&me(sign(Rs, Some("rsa-1"), &forged, &claims(json!({})))).await, "signature");

    // Unknown kids: one fetch at most per refresh interval, however many arrive.
    let before = idp.hits();
    for i in 0..5 {
        refused(
            &me(sign(Rs, Some(&format!("made-up-{i}")), &next, &claims(json!({})))).await,
            "not one the server trusts",
        );
    }
    assert!(idp.hits() <= before + 1, "unknown kids do not flood the provider: {} fetches", idp.hits() - before);

    // The provider rotates to a new key: once the refresh interval has passed, a token signed
    // with it is accepted after one fetch, and the old key keeps working while it is listed.
    idp.set(json!({ "keys": [next_jwk, idp.keys.lock().expect("keys")["keys"][0].clone()] }));
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    let res = me(sign(Rs, Some("rsa-2"), &next, &claims(json!({})))).await;
    assert_eq!(data(&res, "me.id"), &json!(sub.to_string()), "{res}");
    let res = me(sign(Rs, Some("rsa-1"), &rsa, &claims(json!({})))).await;
    assert_eq!(data(&res, "me.id"), &json!(sub.to_string()), "{res}");
}

/// Atlas's own HS256 tokens: `nbf` is checked, and `aud` is not checked unless configured, so a
/// Supabase-style token (`aud: authenticated`) signed with the shared secret is accepted.
#[tokio::test]
async fn hs256_tokens_check_nbf_and_accept_an_audience_by_default() {
    let app = TestApp::start().await;
    let user = app.user().await;
    let now = chrono::Utc::now().timestamp();
    let key = EncodingKey::from_secret(b"test-secret");
    let supabase = json!({ "sub": user.id, "aud": "authenticated", "role": "authenticated", "exp": now + 600 });
    let token = encode(&Header::default(), &supabase, &key).expect("sign");
    let res = app.gql_raw(Some(&format!("Bearer {token}")), None, "{ me { id } }", json!({})).await;
    assert_eq!(data(&res, "me.id"), &json!(user.id.to_string()), "{res}");
    let early = json!({ "sub": user.id, "nbf": now + 3600, "exp": now + 7200 });
    let token = encode(&Header::default(), &early, &key).expect("sign");
    let res = app.gql_raw(Some(&format!("Bearer {token}")), None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap_or_default().contains("not valid yet"), "{res}");
}
