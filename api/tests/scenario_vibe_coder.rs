//! Vibe Coder (seed 004), its main flow through GraphQL over HTTP: a project with a repository,
//! a task split into subtasks, typed agents, executions with tokens and cost, streamed output,
//! commits and their reviews, indexed code, and the totals per task, agent and project.
mod common;

use common::{code, data, id, TestApp};
use serde_json::json;

#[tokio::test]
async fn tasks_agents_executions_commits_reviews() {
    let app = TestApp::start().await;
    let dev = app.user().await;
    let t = Some(app.tenant(&dev).await);
    let res = app
        .gql(&dev, t, "mutation { createProject(input: { name: \"vibe\", repositoryUrl: \"https://github.com/acme/vibe\", githubRepoId: 123456, defaultBranch: \"trunk\" }) { id defaultBranch } }", json!({}))
        .await;
    let project = id(data(&res, "createProject.id"));

    let task = "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }";
    let res = app
        .gql(&dev, t, task, json!({ "i": { "title": "Add authentication", "prompt": "Implement JWT-based authentication", "priority": "HIGH", "projectId": project } }))
        .await;
    let parent = id(data(&res, "createTask.id"));
    let mut subtasks = vec![];
    for title in ["Design user schema", "Create JWT endpoints"] {
        let res = app.gql(&dev, t, task, json!({ "i": { "title": title, "parentId": parent } })).await;
        subtasks.push(id(data(&res, "createTask.id")));
    }

    let agent = "mutation($i: CreateAgentInput!) { createAgent(input: $i) { id agentType capabilities enabled } }";
    let res = app
        .gql(&dev, t, agent, json!({ "i": { "name": "Planner", "agentType": "PLANNER", "capabilities": ["decompose", "estimate"], "model": "gpt-4o", "provider": "openai" } }))
        .await;
    let planner = id(data(&res, "createAgent.id"));
    assert_eq!(data(&res, "createAgent.capabilities"), &json!(["decompose", "estimate"]));
    let res = app
        .gql(&dev, t, agent, json!({ "i": { "name": "Backend", "agentType": "BACKEND", "reportsTo": planner } }))
        .await;
    let backend = id(data(&res, "createAgent.id"));
    let res = app.gql(&dev, t, agent, json!({ "i": { "name": "Planner" } })).await;
    assert_eq!(code(&res), "CONFLICT");

    // Executions: the planner on the parent, the backend agent on a subtask; tokens and cost recorded.
    let exec = "mutation($i: CreateExecutionInput!) { createExecution(input: $i) { id status user { id } } }";
    let finish = "mutation($id: UUID!, $i: UpdateExecutionInput!) { updateExecution(id: $id, input: $i) { status tokensUsed costUsd } }";
    let mut runs = vec![];
    for (task_id, agent_id, tokens, cost) in [
        (parent, planner, 1500, "0.045"),
        (subtasks[1], backend, 3000, "0.120000"),
        (subtasks[1], backend, 500, "0.01"),
    ] {
        let res = app
            .gql(
                &dev,
                t,
                exec,
                json!({ "i": { "taskId": task_id, "agentId": agent_id, "status": "RUNNING", "input": { "step": 1 } } }),
            )
            .await;
        assert_eq!(data(&res, "createExecution.user.id"), &json!(dev.id.to_string()));
        let run = id(data(&res, "createExecution.id"));
        let res = app
            .gql(&dev, t, finish, json!({ "id": run, "i": { "status": "COMPLETED", "tokensUsed": tokens, "costUsd": cost, "durationMs": 1000, "output": { "ok": true } } }))
            .await;
        assert_eq!(data(&res, "updateExecution.status"), "COMPLETED");
        runs.push(run);
    }
    let res = app.gql(&dev, t, finish, json!({ "id": runs[0], "i": { "tokensUsed": -1 } })).await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Streamed output, appended and read back in order.
    for line in ["planning…", "3 subtasks", "done"] {
        let res = app
            .gql(
                &dev,
                t,
                "mutation($t: UUID!, $c: String!) { appendTaskOutput(input: { taskId: $t, content: $c }) { seq } }",
                json!({ "t": parent, "c": line }),
            )
            .await;
        data(&res, "appendTaskOutput.seq");
    }

    // A commit for the subtask, reviewed by an agent; code indexed for search.
    let res = app
        .gql(&dev, t, "mutation($p: UUID!, $t: UUID!) { createCommit(input: { projectId: $p, taskId: $t, sha: \"ABCDEF1234567\", message: \"Add JWT endpoints\", branch: \"feat/jwt\", filesChanged: 3, additions: 120, deletions: 4 }) { id sha } }",
            json!({ "p": project, "t": subtasks[1] }))
        .await;
    let commit = id(data(&res, "createCommit.id"));
    assert_eq!(data(&res, "createCommit.sha"), "abcdef1234567");
    let res = app
        .gql(&dev, t, "mutation($p: UUID!) { createCommit(input: { projectId: $p, sha: \"abcdef1234567\", message: \"again\" }) { id } }", json!({ "p": project }))
        .await;
    assert_eq!(code(&res), "CONFLICT");
    let res = app
        .gql(&dev, t, "mutation($c: UUID!, $a: UUID!) { createReview(input: { commitId: $c, reviewerAgentId: $a, status: CHANGES_REQUESTED, qualityScore: 72, securityScore: 90, issues: [{ file: \"auth.rs\", line: 10, message: \"unwrap\" }] }) { id status } }",
            json!({ "c": commit, "a": backend }))
        .await;
    assert_eq!(data(&res, "createReview.status"), "CHANGES_REQUESTED");
    let res = app
        .gql(
            &dev,
            t,
            "mutation($c: UUID!) { createReview(input: { commitId: $c, qualityScore: 101 }) { id } }",
            json!({ "c": commit }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");
    let res = app
        .gql(&dev, t, "mutation($p: UUID!) { createCodeChunk(input: { projectId: $p, filePath: \"src/auth.rs\", content: \"fn login() {}\", language: \"rust\", commitSha: \"abcdef1\" }) { id chunkIndex } }", json!({ "p": project }))
        .await;
    assert_eq!(data(&res, "createCodeChunk.chunkIndex"), 0);

    // Mark the subtasks done and read everything back, with the totals.
    for s in &subtasks {
        app.gql(
            &dev,
            t,
            "mutation($id: UUID!) { updateTask(id: $id, input: { status: COMPLETED }) { id } }",
            json!({ "id": s }),
        )
        .await;
    }
    let res = app
        .gql(&dev, t, "query($p: UUID!, $t: UUID!, $a: UUID!) {
            project(id: $p) { taskCounts { status count } usage { executions tokensUsed costUsd }
              commits { edges { node { sha task { title } reviews { edges { node { status qualityScore reviewerAgent { name } } } } } } }
              codeChunks(first: 10) { totalCount edges { node { filePath language } } } }
            task(id: $t) { usage { tokensUsed costUsd } subtasks { totalCount edges { node { title status usage { tokensUsed } } } }
              output { edges { node { seq content } } } }
            agent(id: $a) { name manager { name } usage { executions tokensUsed costUsd } }
            agents(filter: { agentType: { eq: PLANNER } }) { edges { node { name reports { totalCount } } } } }",
            json!({ "p": project, "t": parent, "a": backend }))
        .await;
    let counts = data(&res, "project.taskCounts").as_array().unwrap().clone();
    assert!(counts.contains(&json!({ "status": "PENDING", "count": 1 })), "{counts:?}");
    assert!(counts.contains(&json!({ "status": "COMPLETED", "count": 2 })), "{counts:?}");
    assert_eq!(data(&res, "project.usage.executions"), 3);
    assert_eq!(data(&res, "project.usage.tokensUsed"), 5000);
    assert_eq!(data(&res, "project.usage.costUsd"), "0.175000");
    assert_eq!(
        data(&res, "project.commits.edges")[0]["node"]["reviews"]["edges"][0]["node"]["reviewerAgent"]["name"],
        "Backend"
    );
    assert_eq!(data(&res, "project.codeChunks.totalCount"), 1);
    assert_eq!(data(&res, "task.usage.tokensUsed"), 1500);
    assert_eq!(data(&res, "task.subtasks.totalCount"), 2);
    assert_eq!(data(&res, "task.subtasks.edges")[1]["node"]["usage"]["tokensUsed"], 3500);
    let output: Vec<_> = data(&res, "task.output.edges")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["seq"].as_i64().unwrap(), e["node"]["content"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(output, vec![(1, "planning…".into()), (2, "3 subtasks".into()), (3, "done".into())]);
    assert_eq!(data(&res, "agent.manager.name"), "Planner");
    assert_eq!(data(&res, "agent.usage.executions"), 2);
    assert_eq!(data(&res, "agent.usage.costUsd"), "0.130000");
    assert_eq!(data(&res, "agents.edges")[0]["node"]["reports"]["totalCount"], 1);
}
