//! Atlas UX (seeds 000/001), its main flow through GraphQL over HTTP: agents in an org chart,
//! the job queue's rows, intents and decision memos with approvals, the audit log, the knowledge
//! base, integrations with encrypted tokens, ledger against budgets, and settings. Secrets never
//! come back, in responses or in the schema.
mod common;

use common::{code, data, id, TestApp};
use serde_json::json;

#[tokio::test]
async fn agents_jobs_decisions_knowledge_integrations_ledger() {
    let app = TestApp::start().await;
    let owner = app.user().await;
    let tenant = app.tenant(&owner).await;
    let t = Some(tenant);
    let manager = app.user().await;
    app.join(&owner, tenant, &manager, "MANAGER").await;
    let member = app.user().await;
    app.join(&owner, tenant, &member, "MEMBER").await;

    // Agents.
    let res = app
        .gql(
            &owner,
            t,
            "mutation { createAgent(input: { name: \"Atlas\", role: \"CEO\", personality: \"calm\" }) { id } }",
            json!({}),
        )
        .await;
    let ceo = id(data(&res, "createAgent.id"));
    let res = app
        .gql(&owner, t, "mutation($m: UUID!) { createAgent(input: { name: \"Binky\", role: \"CRO\", reportsTo: $m, email: \"binky@acme.io\" }) { id } }", json!({ "m": ceo }))
        .await;
    let cro = id(data(&res, "createAgent.id"));
    let res = app.gql(&member, t, "mutation { createAgent(input: { name: \"Nope\" }) { id } }", json!({})).await;
    assert_eq!(code(&res), "FORBIDDEN", "managers and above create agents");

    // The queue's rows: enqueue, with defaults from the seeds.
    let res = app
        .gql(&member, t, "mutation { enqueueJob(input: { jobType: \"SLEEP\", priority: 5, input: { ms: 1 }, scheduledAt: \"2999-01-01T00:00:00Z\" }) { id status maxRetries retryCount progress } }", json!({}))
        .await;
    let job = id(data(&res, "enqueueJob.id"));
    assert_eq!(data(&res, "enqueueJob.status"), "QUEUED");
    assert_eq!(data(&res, "enqueueJob.maxRetries"), 3);
    let res =
        app.gql(&member, t, "mutation { enqueueJob(input: { jobType: \"email send\" }) { id } }", json!({})).await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("jobType")));

    // An intent that needs a human, and a decision memo for it.
    let res = app
        .gql(&member, t, "mutation($a: UUID!) { createIntent(input: { agentId: $a, intentType: \"ENGINE_RUN\", payload: { budget: 500 } }) { id status } }", json!({ "a": cro }))
        .await;
    let intent = id(data(&res, "createIntent.id"));
    assert_eq!(data(&res, "createIntent.status"), "DRAFT");
    app.gql(&member, t, "mutation($id: UUID!) { updateIntent(id: $id, input: { status: AWAITING_HUMAN, sglResult: \"REVIEW\" }) { id } }", json!({ "id": intent }))
        .await;
    let res = app
        .gql(&member, t, "mutation($a: UUID!, $i: UUID!, $j: UUID!) { createDecisionMemo(input: { agentId: $a, intentId: $i, jobId: $j, title: \"Spend $500 on ads\", rationale: \"Q4 push\", estimatedCostUsd: \"500.00\", riskTier: 2 }) { id status requiresApproval } }",
            json!({ "a": cro, "i": intent, "j": job }))
        .await;
    let memo = id(data(&res, "createDecisionMemo.id"));
    assert_eq!(data(&res, "createDecisionMemo.status"), "PROPOSED");
    let approve = "mutation($id: UUID!) { approveDecision(id: $id, comment: \"go\") { status reviewedAt reviewer { email } approvals { totalCount edges { node { decision comment approver { email } } } } } }";
    let res = app.gql(&member, t, approve, json!({ "id": memo })).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app.gql(&manager, t, approve, json!({ "id": memo })).await;
    assert_eq!(data(&res, "approveDecision.status"), "APPROVED");
    assert_eq!(data(&res, "approveDecision.reviewer.email"), &json!(manager.email));
    assert_eq!(data(&res, "approveDecision.approvals.totalCount"), 1);
    assert_eq!(data(&res, "approveDecision.approvals.edges")[0]["node"]["approver"]["email"], json!(manager.email));
    let res = app.gql(&manager, t, approve, json!({ "id": memo })).await;
    assert_eq!(code(&res), "CONFLICT", "a memo is decided once");
    let res = app
        .gql(&owner, t, "mutation { createDecisionMemo(input: { title: \"x\", riskTier: -1 }) { id } }", json!({}))
        .await;
    assert_eq!(
        (code(&res), res["errors"][0]["message"].as_str().map(|m| m.contains("risk"))),
        ("BAD_USER_INPUT", Some(true)),
        "{res}"
    );

    // Knowledge base: a document with a tag and a chunk; slugs are unique per tenant.
    let res = app
        .gql(&member, t, "mutation { createKbDocument(input: { title: \"Onboarding\", slug: \"Onboarding\", body: \"Welcome\", status: PUBLISHED }) { id slug author { email } } }", json!({}))
        .await;
    let doc = id(data(&res, "createKbDocument.id"));
    assert_eq!(data(&res, "createKbDocument.slug"), "onboarding");
    let res = app
        .gql(
            &member,
            t,
            "mutation { createKbDocument(input: { title: \"Again\", slug: \"onboarding\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "CONFLICT");
    let res = app.gql(&member, t, "mutation { createKbTag(input: { name: \"howto\" }) { id } }", json!({})).await;
    let tag = id(data(&res, "createKbTag.id"));
    app.gql(
        &member,
        t,
        "mutation($d: UUID!, $t: UUID!) { tagKbDocument(input: { documentId: $d, tagId: $t }) { id } }",
        json!({ "d": doc, "t": tag }),
    )
    .await;
    app.gql(
        &member,
        t,
        "mutation($d: UUID!) { createKbChunk(input: { documentId: $d, content: \"Welcome\" }) { id } }",
        json!({ "d": doc }),
    )
    .await;
    let res = app
        .gql(&member, t, "query($d: UUID!) { kbDocument(id: $d) { tags { edges { node { tag { name } } } } chunks { totalCount } } kbDocuments(filter: { status: { eq: PUBLISHED } }) { totalCount } }", json!({ "d": doc }))
        .await;
    assert_eq!(data(&res, "kbDocument.tags.edges")[0]["node"]["tag"]["name"], "howto");
    assert_eq!(data(&res, "kbDocument.chunks.totalCount"), 1);
    assert_eq!(data(&res, "kbDocuments.totalCount"), 1);

    // Integrations: tokens go in encrypted and never come out.
    let res = app.gql(&owner, t, "mutation { createIntegration(input: { provider: \"telegram\", config: { chat_id: 42 }, scopes: [\"send\"] }) { id } }", json!({})).await;
    let integration = id(data(&res, "createIntegration.id"));
    let secret = format!("tok-{}", uuid::Uuid::now_v7().simple());
    let res = app
        .gql(&owner, t, "mutation($id: UUID!, $a: String!) { setIntegrationTokens(id: $id, accessToken: $a, refreshToken: \"r-secret\") { id provider hasAccessToken hasRefreshToken config } }", json!({ "id": integration, "a": secret }))
        .await;
    assert_eq!(data(&res, "setIntegrationTokens.hasAccessToken"), true);
    assert!(!res.to_string().contains(&secret) && !res.to_string().contains("r-secret"), "a token came back: {res}");
    let res =
        app.gql(&owner, t, "mutation { createIntegration(input: { provider: \"telegram\" }) { id } }", json!({})).await;
    assert_eq!(code(&res), "CONFLICT", "one integration per provider");
    let res = app
        .gql(
            &member,
            t,
            "mutation($id: UUID!) { setIntegrationTokens(id: $id, accessToken: \"x\") { id } }",
            json!({ "id": integration }),
        )
        .await;
    assert_eq!(code(&res), "FORBIDDEN");
    // At rest the token is ciphertext.
    let owner_db = app.owner_db().await;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &owner_db,
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT encode(access_token_enc, 'escape') AS t FROM integrations WHERE tenant_id = $1 AND id = $2",
            [tenant.into(), integration.into()],
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let stored: String = row.try_get("", "t").unwrap();
    assert!(!stored.contains(&secret), "token stored in clear");

    // Ledger against budgets: expenses minus refunds this month.
    for (ty, cents) in [("EXPENSE", 1200), ("REFUND", 200), ("INCOME", 9999)] {
        let res = app
            .gql(&manager, t, "mutation($ty: LedgerEntryType!, $c: Int!) { createLedgerEntry(input: { entryType: $ty, category: AI_USAGE, amountCents: $c, description: \"tokens\" }) { id } }", json!({ "ty": ty, "c": cents }))
            .await;
        data(&res, "createLedgerEntry.id");
    }
    let res = app.gql(&manager, t, "mutation { createBudget(input: { name: \"AI\", category: AI_USAGE, limitCents: 5000 }) { spentCents remainingCents period } }", json!({})).await;
    assert_eq!(data(&res, "createBudget.spentCents"), 1000);
    assert_eq!(data(&res, "createBudget.remainingCents"), 4000);
    let res = app
        .gql(
            &manager,
            t,
            "mutation { createLedgerEntry(input: { entryType: EXPENSE, amountCents: -5 }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Settings: plain and secret; a secret's value is never returned; other tenants see neither.
    let set = "mutation($k: String!, $v: String!, $s: Boolean) { setSetting(key: $k, value: $v, secret: $s) { key value isSecret scope } }";
    let res = app.gql(&owner, t, set, json!({ "k": "ai_provider", "v": "openrouter", "s": false })).await;
    assert_eq!(data(&res, "setSetting.value"), "openrouter");
    let res = app.gql(&owner, t, set, json!({ "k": "openrouter_key", "v": "sk-very-secret", "s": true })).await;
    assert_eq!(data(&res, "setSetting.value"), &json!(null));
    let res = app.gql(&member, t, set, json!({ "k": "ai_provider", "v": "lmstudio", "s": false })).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = app.gql(&member, t, "{ settings { key value isSecret scope } }", json!({})).await;
    assert!(!res.to_string().contains("sk-very-secret"), "{res}");
    assert_eq!(data(&res, "settings").as_array().unwrap().len(), 2);
    let other = app.user().await;
    let o = app.tenant(&other).await;
    let res = app.gql(&other, Some(o), "{ settings { key } integrations { totalCount } }", json!({})).await;
    assert_eq!(data(&res, "settings"), &json!([]));
    assert_eq!(data(&res, "integrations.totalCount"), 0);

    // Everything above is in the audit log.
    let res = app.gql(&owner, t, "{ auditLog(first: 100) { edges { node { action } } } }", json!({})).await;
    let actions: Vec<String> = data(&res, "auditLog.edges")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "agent.create",
        "job.create",
        "intent.update",
        "decision memo.approve",
        "approval.create",
        "document.create",
        "integration.set_tokens",
        "ledger entry.create",
        "setting.set",
    ] {
        assert!(actions.iter().any(|a| a == expected), "no {expected} in {actions:?}");
    }
}

#[test]
fn secrets_are_not_in_the_schema() {
    let sdl =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).expect("schema.graphql");
    for hidden in
        ["tokenHash", "accessTokenEnc", "refreshTokenEnc", "secretValue", "accessToken:", "refreshToken:", "embedding:"]
    {
        // `accessToken` appears only as an argument of setIntegrationTokens, never as a field.
        let as_field = sdl.lines().any(|l| l.trim_start().starts_with(hidden) && !l.contains('('));
        assert!(!as_field, "{hidden} is exposed in schema.graphql");
    }
}
