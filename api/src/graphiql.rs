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
    // `make run` prints a link ending in #token=…: the token fills the Headers pane (a fragment
    // never reaches the server) and is removed from the address bar.
    const hash = new URLSearchParams(window.location.hash.slice(1));
    let headers;
    if (hash.get('token')) {
      const h = { Authorization: 'Bearer ' + hash.get('token') };
      if (hash.get('tenant')) h['X-Tenant-Id'] = hash.get('tenant');
      headers = JSON.stringify(h, null, 2);
      localStorage.setItem('graphiql:headers', headers);
      history.replaceState(null, '', window.location.pathname);
    }
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, headers, shouldPersistHeaders: true, isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: 'headers',
        defaultQuery: '# Atlas. Sign in by putting your token in Headers below:\n#   { "Authorization": "Bearer <token>", "X-Tenant-Id": "<tenant id>" }\n# (make run prints a link that does it for you.)\n{\n  me { id email }\n  tenant { id name slug }\n  projects(first: 5) {\n    totalCount\n    edges { node { id name tasks(first: 5) { totalCount edges { node { title status priority } } } } }\n  }\n}\n' }));
  </script>
</body>
</html>
"#;
