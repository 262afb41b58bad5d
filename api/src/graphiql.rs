//! GraphiQL, served by Atlas itself from bundles fetched at setup time, so it works offline.
use actix_web::{http::header, web, HttpResponse};

use crate::server::AppState;

const ASSETS: &[(&str, &str)] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8"),
    ("graphiql.min.css", "text/css; charset=utf-8"),
    ("react.production.min.js", "text/javascript; charset=utf-8"),
    ("react-dom.production.min.js", "text/javascript; charset=utf-8"),
    ("graphql-ws.min.js", "text/javascript; charset=utf-8"),
];

pub async fn asset(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let name = path.into_inner();
    let Some((file, mime)) = ASSETS.iter().find(|(f, _)| *f == name) else {
        return HttpResponse::NotFound().finish();
    };
    match tokio::fs::read(format!("{}/{}", state.config.assets_dir, file)).await {
        Ok(bytes) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *mime))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(bytes),
        Err(_) => {
            HttpResponse::NotFound().body(format!("{file} is missing: run scripts/graphiql-assets.sh (make run does)"))
        }
    }
}

pub fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PAGE)
}

/// Headers typed into GraphiQL's header editor go with every HTTP request and, for
/// subscriptions, into the WebSocket `connection_init` payload.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Atlas GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/react.production.min.js"></script>
  <script src="/graphiql/react-dom.production.min.js"></script>
  <script src="/graphiql/graphql-ws.min.js"></script>
  <script src="/graphiql/graphiql.min.js"></script>
  <script>
    const url = new URL('/graphql', window.location.href).toString();
    const wsUrl = url.replace(/^http/, 'ws');
    function isSubscription(query) {
      return /^\s*subscription\b/m.test((query || '').replace(/#.*$/gm, ''));
    }
    async function* subscribe(params, headers) {
      const client = graphqlWs.createClient({ url: wsUrl, connectionParams: headers, lazy: true, retryAttempts: 0 });
      try {
        for await (const result of client.iterate(params)) yield result;
      } finally { client.dispose(); }
    }
    function fetcher(params, opts) {
      const headers = Object.assign({}, (opts && opts.headers) || {});
      if (isSubscription(params.query) && params.operationName !== 'IntrospectionQuery') return subscribe(params, headers);
      return fetch(url, {
        method: 'POST',
        headers: Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }, headers),
        body: JSON.stringify(params),
      }).then((r) => r.json());
    }
    const defaultHeaders = localStorage.getItem('graphiql:headers') ? undefined :
      JSON.stringify({ Authorization: 'Bearer <token printed by make run>', 'X-Tenant-Id': '<tenant id>' }, null, 2);
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, headers: defaultHeaders, shouldPersistHeaders: true, isHeadersEditorEnabled: true,
        defaultQuery: '# Paste your token and tenant id in Headers below, then run:\n{\n  me { id email }\n  tenant { id name slug }\n  projects(first: 5) {\n    totalCount\n    edges { node { id name tasks(first: 5) { totalCount edges { node { title status } } } } }\n  }\n}\n' }));
  </script>
</body>
</html>
"#;
