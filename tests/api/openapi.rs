//! The served OpenAPI document describes every mounted route, and every
//! example in it is true: request examples are taken by the real parsers,
//! response examples have the shape of the real answers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Method, Status};
use serde_json::{json, Value};

use crate::helpers::{Answer, TestApp};

fn document(app: &TestApp) -> Value {
    let answer = app.send(Method::Get, "/v1/openapi.json", None, None);
    assert_eq!(answer.status, Status::Ok, "served without a key");
    answer.body
}

#[test]
fn every_mounted_route_is_in_the_document() {
    let app = TestApp::spawn();
    let doc = document(&app);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut mounted = BTreeSet::new();
    for route in app.client.rocket().routes() {
        let path = route.uri.as_str().split('?').next().unwrap().to_string();
        // Rocket's `<id>` is OpenAPI's `{id}`.
        let path = path.replace('<', "{").replace('>', "}");
        mounted.insert((route.method.as_str().to_string(), path));
    }
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&mounted).collect();
    assert!(stale.is_empty(), "documented but not mounted: {stale:?}");
}

/// Every keyed operation documents 401, 429 and 503, and 400 exactly when
/// it reads something a client can malform (a body, a query string, an
/// `Idempotency-Key` on `POST`); every error answer has the shape `Error`.
#[test]
fn every_operation_documents_its_errors_in_the_error_shape() {
    let app = TestApp::spawn();
    let doc = document(&app);
    let error = &doc["components"]["schemas"]["Error"];
    for field in ["statusCode", "error", "code", "message", "details"] {
        assert!(error["properties"][field].is_object(), "Error.{field}");
    }
    let error_ref = Value::from("#/components/schemas/Error");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            for (status, response) in responses {
                if !status.starts_with('2') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, &error_ref, "{method} {path} {status}");
                }
            }
            if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                for status in ["401", "429", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
                let reads_input = method == "post"
                    || operation.get("requestBody").is_some()
                    || operation["parameters"]
                        .as_array()
                        .is_some_and(|params| params.iter().any(|p| p["in"] == "query"));
                assert_eq!(
                    responses.contains_key("400"),
                    reads_input,
                    "{method} {path}: 400 is documented where a request can be malformed"
                );
                assert!(operation["security"].is_array(), "{method} {path}");
            }
        }
    }
}

/// Every `POST` documents the idempotency key's answers: 409 while its
/// first request runs, 422 when it is reused.
#[test]
fn every_post_documents_the_idempotency_key_answers() {
    let app = TestApp::spawn();
    let doc = document(&app);
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(operation) = item.get("post") {
            for status in ["400", "409", "422"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "POST {path} {status}"
                );
            }
        }
    }
}

/// The objects examples name by id, created in a fresh app, and the real
/// ids that stand for the examples' ids.
struct Fixtures {
    app: TestApp,
    contacts: Vec<String>,
    audience: String,
    call: String,
    import: Option<String>,
    webhook: String,
    /// An example's id → the real id used in its place.
    substitutes: BTreeMap<String, String>,
}

impl Fixtures {
    /// Two contacts (the first a member of the audience), an audience, a
    /// call, a declared index, a webhook subscription and, for the import
    /// routes, a finished import
    /// with a failed row and a refused webhook.
    fn new(with_import: bool) -> Fixtures {
        let app = TestApp::spawn();
        let mut contacts = Vec::new();
        for (name, phone) in [
            ("Asha Rao", "+442079460958"),
            ("Ravi Kumar", "+33612345678"),
        ] {
            let contact = app.create_contact(name, phone);
            contacts.push(contact["id"].as_str().unwrap().to_string());
        }
        let answer = app.post("/v1/audiences", &json!({"name": "Fixtures"}));
        assert_eq!(answer.status, Status::Created, "{}", answer.body);
        let audience = answer.body["id"].as_str().unwrap().to_string();
        let answer = app.post(
            &format!("/v1/audiences/{audience}/contacts"),
            &json!({"contactIds": [contacts[0]]}),
        );
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
        let answer = app.post(
            "/v1/calls",
            &json!({"contactId": contacts[0], "status": "completed", "durationSeconds": 3}),
        );
        assert_eq!(answer.status, Status::Created, "{}", answer.body);
        let call = answer.body["id"].as_str().unwrap().to_string();
        let answer = app.send(Method::Put, "/v1/indexes/name", Some(&app.key), None);
        assert_eq!(answer.status, Status::Created, "{}", answer.body);
        let import = with_import.then(|| finished_import(&app));
        let answer = app.post("/v1/webhooks", &json!({"url": "https://example.com/hooks"}));
        assert_eq!(answer.status, Status::Created, "{}", answer.body);
        let webhook = answer.body["id"].as_str().unwrap().to_string();
        // The number the do-not-call examples name, and the first
        // contact's, so that its callability has a reason.
        let answer = app.post(
            "/v1/do-not-call",
            &json!({"phoneNumbers": ["+919876543210", "+442079460958"]}),
        );
        assert_eq!(answer.status, Status::Ok, "{}", answer.body);
        Fixtures {
            app,
            contacts,
            audience,
            call,
            import,
            webhook,
            substitutes: BTreeMap::new(),
        }
    }

    /// The real id standing for the example id `id` (distinct example
    /// contacts get distinct real ones); `None` when `id` is no id.
    fn substitute(&mut self, id: &str) -> Option<String> {
        if let Some(real) = self.substitutes.get(id) {
            return Some(real.clone());
        }
        let real = if id.starts_with("ct_") {
            let used = self
                .substitutes
                .keys()
                .filter(|k| k.starts_with("ct_"))
                .count();
            self.contacts[used.min(self.contacts.len() - 1)].clone()
        } else if id.starts_with("aud_") {
            self.audience.clone()
        } else if id.starts_with("call_") {
            self.call.clone()
        } else if id.starts_with("imp_") {
            self.import.clone().expect("an import fixture")
        } else if id.starts_with("wh_") {
            self.webhook.clone()
        } else {
            return None;
        };
        self.substitutes.insert(id.to_string(), real.clone());
        Some(real)
    }

    /// `value` with every id an example names replaced by a real one.
    fn with_real_ids(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) => self
                .substitute(text)
                .map_or_else(|| value.clone(), Value::from),
            Value::Array(items) => items.iter().map(|v| self.with_real_ids(v)).collect(),
            Value::Object(members) => members
                .iter()
                .map(|(k, v)| (k.clone(), self.with_real_ids(v)))
                .collect(),
            other => other.clone(),
        }
    }

    /// `path` with its parameters filled: an id of the kind of object the
    /// path names, or the parameter's example.
    fn uri(&mut self, path: &str, operation: &Value, examples: &mut Checked) -> String {
        let mut uri = path.to_string();
        for param in operation["parameters"].as_array().into_iter().flatten() {
            if param["in"] != "path" {
                continue;
            }
            let name = param["name"].as_str().unwrap();
            let value = match param.get("example") {
                Some(example) => {
                    examples.mark(example);
                    example.as_str().unwrap().to_string()
                }
                None if path.starts_with("/v1/contacts/") => self.contacts[0].clone(),
                None if path.starts_with("/v1/audiences/") => self.audience.clone(),
                None if path.starts_with("/v1/calls/") => self.call.clone(),
                None if path.starts_with("/v1/imports/") => self.import.clone().unwrap(),
                None if path.starts_with("/v1/webhooks/") => self.webhook.clone(),
                None => panic!("no value for {{{name}}} of {path}"),
            };
            uri = uri.replace(&format!("{{{name}}}"), &value);
        }
        uri
    }

    /// Sends `body` (JSON, or the text of a CSV) as `method` to `uri`.
    fn send(&self, method: &str, uri: &str, body: Option<(&str, &Value)>) -> Answer {
        let method = match method {
            "get" => Method::Get,
            "post" => Method::Post,
            "put" => Method::Put,
            "patch" => Method::Patch,
            "delete" => Method::Delete,
            other => panic!("method {other}"),
        };
        match body {
            None => self.app.send(method, uri, Some(&self.app.key), None),
            Some(("application/json", body)) => {
                self.app
                    .send(method, uri, Some(&self.app.key), Some(body.to_string()))
            }
            Some(("text/csv", Value::String(text))) => {
                self.app
                    .send_raw(method, uri, ContentType::CSV, text.as_bytes().to_vec())
            }
            Some((content_type, body)) => panic!("a {content_type} body: {body}"),
        }
    }
}

/// An import of a good and a bad row, with a webhook to a private address
/// (refused, retried later): finished, with an error and an attempt to show.
fn finished_import(app: &TestApp) -> String {
    let answer = app.post(
        "/v1/imports/api/bulk",
        &json!({"contacts": [{"name": "Row", "phoneNumber": "+4915112345678"},
            {"name": "Bad", "phoneNumber": "1"}], "webhookUrl": "http://127.0.0.1:9/hook"}),
    );
    assert_eq!(answer.status, Status::Accepted, "{}", answer.body);
    let id = answer.body["importId"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = app.get(&format!("/v1/imports/{id}/status"));
        if status.body["webhook"]["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            return id;
        }
        assert!(Instant::now() < deadline, "still waiting: {}", status.body);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The examples checked so far, by their JSON text.
#[derive(Default)]
struct Checked(BTreeSet<String>);

impl Checked {
    fn mark(&mut self, example: &Value) {
        self.0.insert(example.to_string());
    }
}

/// `schema` with its `$ref`s followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "no schema {reference}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// Whether `schema` allows `null`.
fn nullable(doc: &Value, schema: &Value) -> bool {
    let schema = resolve(doc, schema);
    let null = Value::from("null");
    schema["type"] == null
        || schema["type"]
            .as_array()
            .is_some_and(|types| types.contains(&null))
        || schema["oneOf"]
            .as_array()
            .is_some_and(|alternatives| alternatives.iter().any(|s| nullable(doc, s)))
}

/// The alternative of a `oneOf` that is not `null` (the schema itself
/// otherwise), resolved.
fn not_null<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(doc, schema);
    match schema["oneOf"].as_array() {
        Some(alternatives) => alternatives
            .iter()
            .map(|s| resolve(doc, s))
            .find(|s| s["type"] != "null")
            .unwrap_or(schema),
        None => schema,
    }
}

/// The examples a schema gives (`example`, and each of `examples`).
fn schema_examples(schema: &Value) -> Vec<Value> {
    let mut examples: Vec<Value> = schema.get("example").into_iter().cloned().collect();
    examples.extend(schema["examples"].as_array().into_iter().flatten().cloned());
    examples
}

/// The examples a media type gives, its schema's included.
fn media_examples(doc: &Value, media: &Value) -> Vec<Value> {
    let mut examples: Vec<Value> = media.get("example").into_iter().cloned().collect();
    if let Some(named) = media["examples"].as_object() {
        examples.extend(named.values().map(|e| e["value"].clone()));
    }
    examples.extend(schema_examples(resolve(doc, &media["schema"])));
    examples
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts `example` has the keys (recursively) and JSON types of `real`,
/// `null` standing for a value only where `schema` is nullable. Objects
/// whose schema lists no properties (metadata) are free-form: only their
/// type counts.
fn assert_same_shape(doc: &Value, schema: &Value, example: &Value, real: &Value, at: &str) {
    if example.is_null() || real.is_null() {
        assert!(
            example.is_null() == real.is_null() || nullable(doc, schema),
            "{at}: example {example} where the answer has {real}, and the schema is not nullable"
        );
        return;
    }
    let schema = not_null(doc, schema);
    assert_eq!(
        kind(example),
        kind(real),
        "{at}: example {example}, answer {real}"
    );
    match (example, real) {
        (Value::Object(example), Value::Object(real)) => {
            let Some(properties) = schema["properties"].as_object() else {
                return;
            };
            let example_keys: BTreeSet<&String> = example.keys().collect();
            let real_keys: BTreeSet<&String> = real.keys().collect();
            assert_eq!(example_keys, real_keys, "{at}: the example's keys");
            for (key, value) in example {
                let property = properties
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}.{key} is not in the schema"));
                assert_same_shape(doc, property, value, &real[key], &format!("{at}.{key}"));
            }
        }
        (Value::Array(example), Value::Array(real)) => {
            if let Some(first) = example.first() {
                assert!(
                    !real.is_empty(),
                    "{at}: the answer's array is empty; the fixtures should fill it"
                );
                for (i, item) in real.iter().enumerate() {
                    assert_same_shape(doc, &schema["items"], first, item, &format!("{at}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

/// Compares every example `schema` and the schemas inside it give with
/// the part of the real answer `real` they describe.
fn check_answer(doc: &Value, schema: &Value, real: &Value, at: &str, checked: &mut Checked) {
    if real.is_null() {
        assert!(
            nullable(doc, schema),
            "{at}: null, and the schema is not nullable"
        );
        return;
    }
    let schema = not_null(doc, schema);
    for example in schema_examples(schema) {
        assert_same_shape(doc, schema, &example, real, at);
        checked.mark(&example);
    }
    match real {
        Value::Object(members) => {
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(value) = members.get(key) {
                    check_answer(doc, property, value, &format!("{at}.{key}"), checked);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_answer(doc, &schema["items"], item, &format!("{at}[{i}]"), checked);
            }
        }
        _ => {}
    }
}

/// Where, inside the request example `example`, a schema gives examples
/// of its own: (JSON pointer, example) for each, the first item standing
/// for an array.
fn inner_examples(
    doc: &Value,
    schema: &Value,
    example: &Value,
    pointer: &str,
) -> Vec<(String, Value)> {
    let schema = not_null(doc, schema);
    let mut found: Vec<(String, Value)> = Vec::new();
    if !pointer.is_empty() {
        found.extend(
            schema_examples(schema)
                .into_iter()
                .map(|e| (pointer.to_string(), e)),
        );
    }
    match example {
        Value::Object(members) => {
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(value) = members.get(key) {
                    let inner = format!("{pointer}/{key}");
                    found.extend(inner_examples(doc, property, value, &inner));
                }
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                let inner = format!("{pointer}/0");
                found.extend(inner_examples(doc, &schema["items"], first, &inner));
            }
        }
        _ => {}
    }
    found
}

/// Every example anywhere in the document: in schemas, media types and
/// parameters.
fn all_examples(node: &Value, found: &mut Vec<Value>) {
    match node {
        Value::Object(members) => {
            for (key, value) in members {
                match (key.as_str(), value) {
                    ("example", example) => found.push(example.clone()),
                    ("examples", Value::Array(examples)) => found.extend(examples.iter().cloned()),
                    ("examples", Value::Object(named)) => {
                        found.extend(named.values().map(|e| e["value"].clone()));
                    }
                    _ => all_examples(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_examples(item, found)),
        _ => {}
    }
}

/// The request body an operation's answer is fetched with: its first
/// example, when it has one.
fn request_example(doc: &Value, operation: &Value) -> Option<(String, Value)> {
    let content = operation["requestBody"]["content"].as_object()?;
    content.iter().find_map(|(content_type, media)| {
        media_examples(doc, media)
            .into_iter()
            .next()
            .map(|example| (content_type.clone(), example))
    })
}

/// Every request example goes through the real route and is accepted;
/// every response example has the keys and types of the real answer; no
/// example in the document is left unchecked.
#[test]
fn every_example_in_the_document_round_trips_through_the_real_routes() {
    let doc = document(&TestApp::spawn());
    let mut checked = Checked::default();

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let needs_import = path.starts_with("/v1/imports/{");

            // Request examples: the whole body, then each inner example
            // in its place, each on a fresh app.
            for (content_type, media) in operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let schema = &media["schema"];
                for example in media_examples(&doc, media) {
                    let mut bodies = vec![(example.clone(), example.clone())];
                    for (pointer, inner) in inner_examples(&doc, schema, &example, "") {
                        let mut body = example.clone();
                        *body.pointer_mut(&pointer).unwrap() = inner.clone();
                        bodies.push((inner, body));
                    }
                    for (shown, body) in bodies {
                        let mut fixtures = Fixtures::new(needs_import);
                        let uri = fixtures.uri(path, operation, &mut checked);
                        let body = fixtures.with_real_ids(&body);
                        let answer = fixtures.send(method, &uri, Some((content_type, &body)));
                        assert!(
                            answer.status.code / 100 == 2,
                            "{method} {path} with the example {shown} ({body}): {} {}",
                            answer.status,
                            answer.body
                        );
                        checked.mark(&shown);
                    }
                }
            }

            // Response examples: each 2xx JSON answer, fetched for real.
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(media) = response["content"].get("application/json") else {
                    continue;
                };
                if !status.starts_with('2') || media.get("schema").is_none() {
                    continue;
                }
                let mut fixtures = Fixtures::new(needs_import);
                let uri = fixtures.uri(path, operation, &mut checked);
                let body = request_example(&doc, operation)
                    .map(|(content_type, body)| (content_type, fixtures.with_real_ids(&body)));
                let send =
                    || fixtures.send(method, &uri, body.as_ref().map(|(t, b)| (t.as_str(), b)));
                // A second identical request reaches the other 2xx of a
                // route that has two (an index declared already: 200).
                let mut answer = send();
                if answer.status.code.to_string() != *status {
                    answer = send();
                }
                assert_eq!(
                    answer.status.code.to_string(),
                    *status,
                    "{method} {path}: {}",
                    answer.body
                );
                let at = format!("{method} {path} {status}");
                let examples: Vec<Value> = media.get("example").into_iter().cloned().collect();
                for example in examples {
                    assert_same_shape(&doc, &media["schema"], &example, &answer.body, &at);
                    checked.mark(&example);
                }
                check_answer(&doc, &media["schema"], &answer.body, &at, &mut checked);
            }
        }
    }

    // The error shape, against a real error of the kind its example shows
    // (a 422 naming a field).
    let fixtures = Fixtures::new(false);
    let answer = fixtures.send(
        "post",
        "/v1/contacts",
        Some((
            "application/json",
            &json!({"name": "A", "phoneNumber": "+91 12345"}),
        )),
    );
    answer.assert_error(422, "validation_failed");
    let error = &doc["paths"]["/v1/contacts"]["post"]["responses"]["422"]["content"]
        ["application/json"]["schema"];
    check_answer(
        &doc,
        error,
        &answer.body,
        "POST /v1/contacts 422",
        &mut checked,
    );

    let mut everything = Vec::new();
    all_examples(&doc, &mut everything);
    let unchecked: Vec<String> = everything
        .iter()
        .map(Value::to_string)
        .filter(|e| !checked.0.contains(e))
        .collect();
    assert!(
        unchecked.is_empty(),
        "examples no real request or answer checked: {unchecked:#?}"
    );
}

#[test]
fn the_bundled_redoc_asks_no_other_host() {
    let app = TestApp::spawn();
    let answer = app.client.get("/docs/redoc.standalone.js").dispatch();
    assert_eq!(answer.status().code, 200);
    let policy = answer
        .headers()
        .get_one("content-security-policy")
        .unwrap()
        .to_string();
    assert!(policy.contains("img-src 'self' data:"), "{policy}");
    let bundle = answer.into_string().unwrap();
    assert!(bundle.len() > 100_000);
    // Its logo came from Redocly's CDN, which the policy refuses with an
    // error on every load (crates/server/assets/redoc/README.md).
    assert!(!bundle.contains("cdn.redoc.ly"));
}
