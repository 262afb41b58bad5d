//! Tenants, members and invitations through GraphQL.
mod common;

use common::{code, data, id, TestApp};
use serde_json::json;

#[tokio::test]
async fn create_tenant_invite_accept_and_manage_members() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let slug = format!("acme-{}", uuid::Uuid::now_v7().simple());
    let res = app
        .gql(
            &owner,
            None,
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id slug kind seatPlan } }",
            json!({ "i": { "slug": slug.to_uppercase(), "name": "Acme" } }),
        )
        .await;
    let tenant = id(data(&res, "createTenant.id"));
    assert_eq!(data(&res, "createTenant.slug"), &json!(slug));
    assert_eq!(data(&res, "createTenant.kind"), "ORGANIZATION");
    assert_eq!(data(&res, "createTenant.seatPlan"), "FREE_BETA");

    // The slug is taken now: CONFLICT on that field.
    let res = app
        .gql(
            &owner,
            None,
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
            json!({ "i": { "slug": slug, "name": "Again" } }),
        )
        .await;
    assert_eq!(code(&res), "CONFLICT");
    assert_eq!(res["errors"][0]["extensions"]["field"], "slug");
    let res = app
        .gql(&owner, None, "mutation { createTenant(input: { slug: \"no spaces!\", name: \"X\" }) { id } }", json!({}))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Invite, then accept as the invitee.
    let invitee = app.user().await;
    let res = app
        .gql(&owner, Some(tenant), "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token invitation { email role invitedBy { id } } } }",
            json!({ "i": { "email": invitee.email.to_uppercase(), "role": "ADMIN" } }))
        .await;
    let token = data(&res, "inviteMember.token").as_str().unwrap().to_string();
    assert_eq!(data(&res, "inviteMember.invitation.email"), &json!(invitee.email));
    assert_eq!(data(&res, "inviteMember.invitation.invitedBy.id"), &json!(owner.id.to_string()));

    // Someone else cannot use it, and a made-up token is refused.
    let other = app.user().await;
    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { id role user { email } } }";
    let res = app.gql(&other, None, accept, json!({ "t": token })).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app.gql(&other, None, accept, json!({ "t": "inv_nope" })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app.gql(&invitee, None, accept, json!({ "t": token })).await;
    let invitee_member = id(data(&res, "acceptInvitation.id"));
    assert_eq!(data(&res, "acceptInvitation.role"), "ADMIN");
    let res = app.gql(&invitee, None, accept, json!({ "t": token })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "a token works once: {res}");

    // Both see each other as members; the invitee lists the tenant among theirs.
    let res = app
        .gql(
            &invitee,
            Some(tenant),
            "{ members(orderBy: [{ field: CREATED_AT }]) { totalCount edges { node { role user { email } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&res, "members.totalCount"), 2);
    assert_eq!(data(&res, "members.edges")[0]["node"]["user"]["email"], json!(owner.email));
    let res = app.gql(&invitee, None, "{ myTenants { role tenant { id name } } }", json!({})).await;
    assert_eq!(data(&res, "myTenants")[0]["tenant"]["name"], "Acme");

    // An admin cannot touch the owner; the owner can change the admin's role.
    let res = app
        .gql(&owner, Some(tenant), "{ members(filter: { role: { eq: OWNER } }) { edges { node { id } } } }", json!({}))
        .await;
    let owner_member = id(&data(&res, "members.edges")[0]["node"]["id"]);
    let set_role = "mutation($id: UUID!, $r: MemberRole!) { updateMemberRole(id: $id, role: $r) { id role } }";
    let res = app.gql(&invitee, Some(tenant), set_role, json!({ "id": owner_member, "r": "MEMBER" })).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app.gql(&owner, Some(tenant), set_role, json!({ "id": invitee_member, "r": "MANAGER" })).await;
    assert_eq!(data(&res, "updateMemberRole.role"), "MANAGER");
    // The last owner stays an owner and cannot be removed.
    let res = app.gql(&owner, Some(tenant), set_role, json!({ "id": owner_member, "r": "ADMIN" })).await;
    assert_eq!(code(&res), "CONFLICT");
    let remove = "mutation($id: UUID!) { removeMember(id: $id) { id } }";
    let res = app.gql(&owner, Some(tenant), remove, json!({ "id": owner_member })).await;
    assert_eq!(code(&res), "CONFLICT");
    // A member may leave; afterwards the tenant refuses them.
    let res = app.gql(&invitee, Some(tenant), remove, json!({ "id": invitee_member })).await;
    assert_eq!(data(&res, "removeMember.id"), &json!(invitee_member.to_string()));
    let res = app.gql(&invitee, Some(tenant), "{ tenant { id } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN");
}

#[tokio::test]
async fn a_failed_mutation_leaves_nothing_behind() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    // Two mutations in one request: the second fails, so the first is rolled back with it.
    let res = app
        .gql(&owner, Some(tenant), "mutation { a: createProject(input: { name: \"Kept?\" }) { id } b: createProject(input: { name: \"Kept?\" }) { id } }", json!({}))
        .await;
    assert_eq!(code(&res), "CONFLICT");
    let res = app.gql(&owner, Some(tenant), "{ projects { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "projects.totalCount"), 0);
}
