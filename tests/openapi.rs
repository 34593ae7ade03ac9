//! `GET /openapi.json` on a real `skipline serve`: valid OpenAPI 3.1 by the
//! `openapi-spec-validator` package, every route of the API in it and nothing that is not a
//! route, security as the server enforces it, and the order body from the same schemars source
//! as `events/schema/place-order.schema.json` and the API Gateway model.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use support::{Serve, http_client};

/// The API: every route a client or the console may call. A route added to the server must
/// be added here, and the test fails until it is also in the document.
const ROUTES: [(&str, &str); 30] = [
    ("post", "/order"),
    ("get", "/order"),
    ("get", "/orders/{orderid}"),
    ("get", "/orders/{orderid}/invoice"),
    ("get", "/invoice"),
    ("get", "/executions"),
    ("post", "/vendors/{vendorid}/endpoints"),
    ("get", "/vendors/{vendorid}/endpoints"),
    ("delete", "/vendors/{vendorid}/endpoints/{endpointid}"),
    ("post", "/vendors/{vendorid}/endpoints/{endpointid}/rotate-secret"),
    ("post", "/vendors/{vendorid}/endpoints/{endpointid}/enable"),
    ("get", "/vendors/{vendorid}/deliveries"),
    ("post", "/vendors/{vendorid}/redeliver"),
    ("get", "/topic/subscriptions"),
    ("post", "/topic/subscriptions"),
    ("get", "/queues"),
    ("get", "/queues/{queue}/messages"),
    ("post", "/queues/{queue}/replay"),
    ("get", "/schema/place-order"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/events"),
    ("get", "/flow"),
    ("get", "/console"),
    ("get", "/console/app.js"),
    ("get", "/console/app.css"),
    ("post", "/console/session"),
    ("delete", "/console/session"),
];

fn validate(doc: &Value) {
    let python =
        std::env::var("SKIPLINE_PYTHON").unwrap_or_else(|_| format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let mut child = Command::new(&python)
        .arg(format!(
            "{}/tests/support/validate_openapi.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e} (the test command installs openapi-spec-validator into .venv)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect()
}

#[tokio::test]
async fn the_document_is_valid_complete_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A token exists, so the server enforces scopes; the document itself needs none.
    support::token(&data, "ops", &["admin"]);
    let serve = Serve::start(&data, &[], &dir.path().join("serve.log"));
    let http = http_client();
    let r = http.get(format!("{}/openapi.json", serve.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    validate(&doc);

    // Every route is described, and every description is a route.
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let described = operations(&doc);
    assert_eq!(
        described.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "described but not in the API list"
    );
    assert_eq!(
        expected.difference(&described).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes missing from /openapi.json"
    );
    // Each described operation is served (under /prod too): with no token, a protected one is
    // 401 and a public one answers, never the router's "no such route" or 405.
    for (method, path) in &described {
        let concrete = path
            .replace("{orderid}", "o-1")
            .replace("{vendorid}", "v0")
            .replace("{endpointid}", "ep-1")
            .replace("{queue}", "deliveries-dlq");
        let public = doc["paths"][path][method]["security"] == serde_json::json!([]);
        for prefix in ["", "/prod"] {
            let url = format!("{}{prefix}{concrete}", serve.base);
            let r = http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            let code = r.status().as_u16();
            if public {
                // Answered by its handler: 200, or 400/503 for what it lacks, never refused.
                assert!(![401, 403, 404, 405].contains(&code), "{method} {url}: {code}");
            } else {
                assert_eq!(code, 401, "{method} {url} without a token");
            }
        }
    }
    // The security the document names is the scope the server wants.
    assert_eq!(
        doc["paths"]["/order"]["post"]["security"][0]["bearer"][0],
        "orders:write"
    );
    assert_eq!(
        doc["paths"]["/orders/{orderid}"]["get"]["security"][0]["bearer"][0],
        "orders:read"
    );
    assert_eq!(
        doc["paths"]["/queues/{queue}/replay"]["post"]["security"][0]["bearer"][0],
        "admin"
    );
    assert_eq!(
        doc["paths"]["/queues"]["get"]["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );

    // The order body is the schemars schema the API Gateway model is made from.
    let body = &doc["paths"]["/order"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/PlaceOrder");
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/schema/place-order.schema.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let rewrite = |v: &Value| -> Value {
        serde_json::from_str(&v.to_string().replace("\"#/$defs/", "\"#/components/schemas/")).unwrap()
    };
    let schemas = &doc["components"]["schemas"];
    for (name, def) in file["$defs"].as_object().unwrap() {
        assert_eq!(schemas[name], rewrite(def), "components.schemas.{name}");
    }
    let mut top = file.as_object().unwrap().clone();
    top.remove("$defs");
    top.remove("$schema");
    assert_eq!(schemas["PlaceOrder"], rewrite(&Value::Object(top)));
}
