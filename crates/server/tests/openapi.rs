//! The OpenAPI document: committed copy current, complete, and served.

use serde_json::Value;
use trustledger_engine::event::SCHEMAS;

fn doc() -> Value {
    serde_json::from_str(&trustledger_server::openapi::document()).unwrap()
}

#[test]
fn docs_openapi_json_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let expected = trustledger_server::openapi::document();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/openapi.json is stale; regenerate with UPDATE_DOCS=1 cargo test -p trustledger-server --test openapi"
    );
}

#[test]
fn document_is_openapi_3_1_and_lists_every_route() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    let paths = d["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/v1/events", "post"),
        ("/v1/customers", "get"),
        ("/v1/customers/{id}", "get"),
        ("/v1/customers/{id}/statement", "get"),
        ("/v1/customers/{id}/history", "get"),
        ("/v1/stats", "get"),
        ("/v1/operators", "get"),
        ("/v1/clock", "get"),
        ("/v1/clock", "put"),
        ("/v1/text/check", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the document"
        );
    }
    let schemes = d["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer") && schemes.contains_key("api_key"));
    // Every query parameter of the customers list is documented.
    let params: Vec<&str> = d["paths"]["/v1/customers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "stage",
        "min_index",
        "max_index",
        "operator",
        "at_risk",
        "q",
        "sort",
        "limit",
        "cursor",
    ] {
        assert!(params.contains(&p), "parameter {p} undocumented");
    }
}

#[test]
fn event_schema_is_built_from_the_contract() {
    let d = doc();
    let variants = d["components"]["schemas"]["Event"]["anyOf"]
        .as_array()
        .expect("Event schema parsed into anyOf");
    assert_eq!(variants.len(), SCHEMAS.len() + 1);
    for (schema, v) in SCHEMAS.iter().zip(variants) {
        assert_eq!(v["title"], schema.name);
        assert_eq!(v["properties"]["type"]["enum"][0], schema.name);
        let required: Vec<&str> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        for f in schema.fields.iter().filter(|f| f.required) {
            assert!(
                required.contains(&f.name),
                "{}.{} not required",
                schema.name,
                f.name
            );
        }
        for common in ["id", "type", "at", "customer"] {
            assert!(required.contains(&common));
        }
    }
}

#[test]
fn error_body_lists_every_code() {
    let d = doc();
    let codes: Vec<&str> = d["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in trustledger_server::ErrorCode::ALL {
        assert!(codes.contains(&c.code()));
    }
}

/// The API documents every caveat kind a forecast can carry, by its code.
#[test]
fn every_caveat_kind_is_documented() {
    let d = doc();
    let described =
        d["components"]["schemas"]["Forecast"]["properties"]["caveat_codes"]["description"]
            .as_str()
            .expect("caveat_codes has a description");
    for kind in trustledger_forecast::caveat::CaveatKind::ALL {
        assert!(
            described.contains(&format!("`{}`", kind.code())),
            "{} is not in: {described}",
            kind.code()
        );
    }
}
