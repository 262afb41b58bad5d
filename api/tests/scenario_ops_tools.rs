//! Operations Tools (seed 003), its main flow through GraphQL over HTTP: a project, data records
//! of both types, duplicates refused, Likert scores by people and an LLM, review state, ingest and
//! analytics jobs with counters, and bonus windows with per-person tier progress.
mod common;

use common::{code, data, id, TestApp};
use serde_json::json;

#[tokio::test]
async fn records_scores_jobs_and_bonus_windows() {
    let app = TestApp::start().await;
    let admin = app.user().await;
    let tenant = app.tenant(&admin).await;
    let t = Some(tenant);
    let alice = app.user().await;
    app.join(&admin, tenant, &alice, "MEMBER").await;
    let bob = app.user().await;
    app.join(&admin, tenant, &bob, "MEMBER").await;

    let res = app.gql(&admin, t, "mutation { createProject(input: { name: \"Support QA\" }) { id } }", json!({})).await;
    let project = id(data(&res, "createProject.id"));

    // A bonus window over now: tier 1 = 2 tasks and 1 feedback; tier 2 = 3 tasks (feedback off).
    let start = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let window = "mutation($i: CreateBonusWindowInput!) { createBonusWindow(input: $i) { id } }";
    let res =
        app.gql(&alice, t, window, json!({ "i": { "startTime": start, "endTime": end, "targetTaskCount": 2 } })).await;
    assert_eq!(code(&res), "FORBIDDEN", "members do not set bonus windows");
    let res = app.gql(&admin, t, window, json!({ "i": { "startTime": end, "endTime": start } })).await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("endTime")));
    let res = app
        .gql(
            &admin,
            t,
            window,
            json!({ "i": { "name": "November", "startTime": start, "endTime": end,
            "targetTaskCount": 2, "targetFeedbackCount": 1, "targetTaskCountTier2": 3 } }),
        )
        .await;
    let window_id = id(data(&res, "createBonusWindow.id"));

    // Alice: 3 tasks + 1 feedback (tiers 1 and 2); Bob: 2 tasks, no feedback (neither).
    let record = "mutation($i: CreateDataRecordInput!) { createDataRecord(input: $i) { id recordType category createdByEmail } }";
    let mut alice_records = vec![];
    for (i, (ty, cat)) in
        [("TASK", "TOP_10"), ("TASK", "BOTTOM_10"), ("TASK", "TOP_10"), ("FEEDBACK", "TOP_10")].iter().enumerate()
    {
        let res = app
            .gql(
                &alice,
                t,
                record,
                json!({ "i": { "projectId": project, "recordType": ty, "category": cat,
                "content": format!("Alice record {i}"), "metadata": { "row": i } } }),
            )
            .await;
        assert_eq!(data(&res, "createDataRecord.createdByEmail"), &json!(alice.email));
        alice_records.push(id(data(&res, "createDataRecord.id")));
    }
    for i in 0..2 {
        let res = app
            .gql(
                &bob,
                t,
                record,
                json!({ "i": { "projectId": project, "recordType": "TASK", "content": format!("Bob task {i}") } }),
            )
            .await;
        data(&res, "createDataRecord.id");
    }
    // The same content and type again in the project: refused as a duplicate.
    let res = app
        .gql(&bob, t, record, json!({ "i": { "projectId": project, "recordType": "TASK", "content": "Bob task 0" } }))
        .await;
    assert_eq!((code(&res), res["errors"][0]["extensions"]["field"].as_str()), ("CONFLICT", Some("content")));

    // Scores: people score as themselves; an LLM score names its model; 1-7 only.
    let score = "mutation($i: CreateLikertScoreInput!) { createLikertScore(input: $i) { id userId } }";
    let r0 = alice_records[0];
    let res = app.gql(&bob, t, score, json!({ "i": { "recordId": r0, "realismScore": 6, "qualityScore": 4 } })).await;
    assert_eq!(data(&res, "createLikertScore.userId"), &json!(bob.id.to_string()));
    let res = app
        .gql(&admin, t, score, json!({ "i": { "recordId": r0, "userId": "gpt-judge", "llmModel": "gpt-4o", "realismScore": 2, "qualityScore": 6 } }))
        .await;
    assert_eq!(data(&res, "createLikertScore.userId"), "gpt-judge");
    let res = app
        .gql(&bob, t, score, json!({ "i": { "recordId": alice_records[1], "realismScore": 8, "qualityScore": 4 } }))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app.gql(&bob, t, score, json!({ "i": { "recordId": r0, "realismScore": 5, "qualityScore": 5 } })).await;
    assert_eq!(code(&res), "CONFLICT", "one score per rater and record");
    let res = app
        .gql(
            &alice,
            t,
            score,
            json!({ "i": { "recordId": r0, "userId": bob.id, "realismScore": 1, "qualityScore": 1 } }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "a person cannot score in another's name");

    // Review state.
    let res = app
        .gql(&admin, t, "mutation($id: UUID!) { updateDataRecord(id: $id, input: { hasBeenReviewed: true, isCategoryCorrect: false, alignmentAnalysis: \"off-topic\" }) { hasBeenReviewed isCategoryCorrect } }", json!({ "id": r0 }))
        .await;
    assert_eq!(data(&res, "updateDataRecord.hasBeenReviewed"), true);

    // Ingest and analytics jobs with their counters.
    let res = app
        .gql(&alice, t, "mutation($p: UUID!) { createIngestJob(input: { projectId: $p, recordType: TASK, sourceName: \"tasks.csv\" }) { id status } }", json!({ "p": project }))
        .await;
    let ingest = id(data(&res, "createIngestJob.id"));
    assert_eq!(data(&res, "createIngestJob.status"), "PENDING");
    let res = app
        .gql(&alice, t, "mutation($id: UUID!) { updateIngestJob(id: $id, input: { status: COMPLETED, totalRecords: 10, savedCount: 8, skippedCount: 2, skippedDetails: { duplicate: 2 } }) { status savedCount skippedDetails } }", json!({ "id": ingest }))
        .await;
    assert_eq!(data(&res, "updateIngestJob.skippedDetails"), &json!({ "duplicate": 2 }));
    let res = app
        .gql(
            &alice,
            t,
            "mutation($p: UUID!) { createAnalyticsJob(input: { projectId: $p }) { status processedCount } }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(data(&res, "createAnalyticsJob.status"), "PENDING");

    // The aggregates the app shows.
    let res = app
        .gql(&admin, t, "query($p: UUID!, $r: UUID!, $w: UUID!) {
            project(id: $p) { likert { scores realismAverage qualityAverage } ingestJobs { totalCount } analyticsJobs { totalCount }
              dataRecords(first: 100) { totalCount } }
            dataRecord(id: $r) { likert { scores realismAverage } scores { totalCount } }
            dataRecords(filter: { recordType: { eq: FEEDBACK } }) { totalCount }
            bonusWindow(id: $w) { name progress { userEmail taskCount feedbackCount tier1Met tier2Met } } }",
            json!({ "p": project, "r": r0, "w": window_id }))
        .await;
    assert_eq!(data(&res, "project.likert.scores"), 2);
    assert_eq!(data(&res, "project.likert.realismAverage"), 4.0);
    assert_eq!(data(&res, "project.likert.qualityAverage"), 5.0);
    assert_eq!(data(&res, "project.dataRecords.totalCount"), 6);
    assert_eq!(data(&res, "dataRecord.likert.scores"), 2);
    assert_eq!(data(&res, "dataRecords.totalCount"), 1);
    let progress = data(&res, "bonusWindow.progress").as_array().unwrap().clone();
    let of = |email: &str| {
        progress.iter().find(|p| p["userEmail"] == email).cloned().unwrap_or_else(|| panic!("{email} in {progress:?}"))
    };
    let a = of(&alice.email);
    assert_eq!((a["taskCount"].as_i64(), a["feedbackCount"].as_i64()), (Some(3), Some(1)));
    assert_eq!((a["tier1Met"].as_bool(), a["tier2Met"].as_bool()), (Some(true), Some(true)));
    let b = of(&bob.email);
    assert_eq!(
        (b["taskCount"].as_i64(), b["tier1Met"].as_bool(), b["tier2Met"].as_bool()),
        (Some(2), Some(false), Some(false))
    );

    // Deleting the project takes its records, scores and jobs with it.
    app.gql(&admin, t, "mutation($p: UUID!) { deleteProject(id: $p) { id } }", json!({ "p": project })).await;
    let res = app
        .gql(
            &admin,
            t,
            "{ dataRecords { totalCount } likertScores { totalCount } ingestJobs { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&res, "dataRecords.totalCount"), 0);
    assert_eq!(data(&res, "likertScores.totalCount"), 0);
    assert_eq!(data(&res, "ingestJobs.totalCount"), 0);
}
