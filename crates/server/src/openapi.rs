//! The OpenAPI 3.1 document, generated from the code: the routes' `#[utoipa::path]`
//! annotations, the wire types ([`crate::wire`]), the error table
//! ([`crate::error::ErrorCode`]) and the event contract
//! ([`trustledger_engine::event::SCHEMAS`]). Served at `/v1/openapi.json`;
//! a copy is committed as `docs/openapi.json` and a test fails when it is stale.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use trustledger_engine::event::{COMMON_FIELDS, FieldKind, FieldSpec, MAX_ID_LEN, SCHEMAS};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::{ErrorBody, ErrorCode};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TrustLedger API",
        description = "Push touchpoint events; read trust per relationship (T = C × R × I / S), its explanation and history, tenant stats and operator scorecards.\n\nEvery `/v1` request carries an API key: `Authorization: Bearer KEY` or `X-Api-Key: KEY` (`trustledger keys create`). The key decides the tenant and the role: admin and operator keys write, viewer keys read; an operator key sees only its operator's customers; only an admin key sets the tenant's clock or refits its forecasts.\n\nEvery error body is `{code, message, details}`; the codes are listed under `ErrorBody`."
    ),
    paths(
        crate::healthz,
        crate::readyz,
        crate::post_events,
        crate::list_customers,
        crate::get_customer,
        crate::get_statement,
        crate::get_history,
        crate::get_stats,
        crate::get_operators,
        crate::clock::get_clock,
        crate::clock::put_clock,
        crate::refit::post_refit,
        crate::text::check,
    ),
    components(schemas(Event, EventsBody, ErrorBody)),
    modifiers(&Security, &ErrorCodes),
    tags(
        (name = "events", description = "Ingest touchpoints into the ledger."),
        (name = "customers", description = "Trust per relationship, its explanation and its history."),
        (name = "tenant", description = "The tenant's distribution, funnel, operators and clock."),
        (name = "forecasts", description = "Refit the tenant's purchase forecasts (each customer's shows with the customer)."),
        (name = "text", description = "Text signals of drafts and messages, with the tenant's sensitive words."),
        (name = "health", description = "Liveness and readiness (no key needed)."),
    )
)]
pub struct ApiDoc;

/// The document as served and committed (pretty JSON, trailing newline).
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tl_<id>_<secret>")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Lists every error code, its status and meaning in `ErrorBody.code`.
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let table: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| format!("`{}` ({}): {}", c.code(), c.status().as_u16(), c.meaning()))
            .collect();
        let schema = json!({
            "type": "object",
            "description": format!("Every error the API returns.\n\n{}", table.join("\n\n")),
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": ErrorCode::ALL.iter().map(|c| c.code()).collect::<Vec<_>>()},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "details": {"type": ["object", "null"], "description": "Where: the field, parameter or index, when known; otherwise null."},
            },
        });
        components
            .schemas
            .insert("ErrorBody".into(), from_json(schema));
    }
}

/// One event of the contract (any type); the schema is built from the
/// engine's contract table, so it cannot drift from validation.
pub struct Event;

/// The body of `POST /v1/events`: one event or a JSON array of events.
pub struct EventsBody;

fn field_schema(f: &FieldSpec) -> Value {
    let mut s = match f.kind {
        FieldKind::Id => json!({"type": "string", "minLength": 1, "maxLength": MAX_ID_LEN}),
        FieldKind::Text => json!({"type": "string"}),
        FieldKind::Time => json!({"type": "string", "format": "date-time"}),
        FieldKind::Bool => json!({"type": "boolean"}),
        FieldKind::Number { min } => json!({"type": "number", "minimum": min}),
        FieldKind::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        FieldKind::Enum(values) => json!({"type": "string", "enum": values}),
    };
    s["description"] = json!(f.meaning);
    s
}

fn object_schema(title: &str, description: &str, fields: &[&FieldSpec], type_enum: Value) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in fields {
        let mut s = field_schema(f);
        if f.name == "type" {
            s["enum"] = type_enum.clone();
        }
        properties.insert(f.name.to_owned(), s);
        if f.required {
            required.push(f.name);
        }
    }
    json!({
        "type": "object",
        "title": title,
        "description": description,
        "required": required,
        "properties": properties,
    })
}

/// The contract as JSON Schema: one object per known type, then any other
/// type (stored and counted, not scored).
pub fn event_schema() -> Value {
    let mut variants: Vec<Value> = SCHEMAS
        .iter()
        .map(|schema| {
            let fields: Vec<&FieldSpec> = COMMON_FIELDS.iter().chain(schema.fields).collect();
            object_schema(
                schema.name,
                &format!("{} Feeds: {}.", schema.meaning, schema.feeds),
                &fields,
                json!([schema.name]),
            )
        })
        .collect();
    let common: Vec<&FieldSpec> = COMMON_FIELDS.iter().collect();
    let mut other = object_schema(
        "other",
        "A type outside the contract: stored in the ledger and counted, not scored.",
        &common,
        Value::Null,
    );
    other["properties"]["type"]
        .as_object_mut()
        .map(|o| o.remove("enum"));
    variants.push(other);
    json!({
        "description": "A touchpoint event. Fields outside the contract are kept in the ledger. See docs/events.md.",
        "anyOf": variants,
    })
}

fn from_json(v: Value) -> RefOr<Schema> {
    // The JSON is built above from static tables; a test checks it parses.
    serde_json::from_value(v).unwrap_or_default()
}

impl PartialSchema for Event {
    fn schema() -> RefOr<Schema> {
        from_json(event_schema())
    }
}

impl ToSchema for Event {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Event")
    }
}

impl PartialSchema for EventsBody {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "anyOf": [
                {"$ref": "#/components/schemas/Event"},
                {"type": "array", "items": {"$ref": "#/components/schemas/Event"}, "maxItems": crate::MAX_BATCH_EVENTS},
            ]
        }))
    }
}

impl ToSchema for EventsBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventsBody")
    }
}
