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
    // An X-Tenant-Id that is not a UUID.
    let resp = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("authorization", format!("Bearer {}", owner.token))
        .header("x-tenant-id", "acme")
        .json(&json!({ "query": "{ tenant { id } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT");
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
