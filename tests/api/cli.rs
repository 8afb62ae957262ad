//! The administration CLI and `serve`, run as the real binary.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::helpers::{contactsd, http, serve};

fn run(dir: &Path, args: &[&str]) -> Output {
    contactsd(dir, args).output().expect("run contactsd")
}

/// Runs a command expected to succeed; its stdout lines as JSON.
fn json_lines(dir: &Path, args: &[&str]) -> Vec<Value> {
    let output = run(dir, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect()
}

fn keys_of(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn is_api_key(text: &str) -> bool {
    text.strip_prefix("sk_live_").is_some_and(|rest| {
        rest.len() == 32
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

#[test]
fn org_create_prints_the_org_and_its_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let lines = json_lines(dir.path(), &["org", "create", "Acme Calls"]);
    assert_eq!(lines.len(), 1);
    let org = &lines[0];
    assert_eq!(keys_of(org), ["id", "name", "apiKey"]);
    assert!(org["id"].as_str().unwrap().starts_with("org_"));
    assert_eq!(org["name"], "Acme Calls");
    assert!(is_api_key(org["apiKey"].as_str().unwrap()), "{org}");
    // The default path is contacts.db in the working directory.
    assert!(dir.path().join("contacts.db").exists());
}

#[test]
fn org_list_prints_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "One"]);
    json_lines(dir.path(), &["org", "create", "Two"]);
    let orgs = json_lines(dir.path(), &["org", "list"]);
    assert_eq!(orgs.len(), 2);
    for (org, name) in orgs.iter().zip(["One", "Two"]) {
        assert_eq!(keys_of(org), ["id", "name", "createdAt"]);
        assert_eq!(org["name"], name);
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "One"]);
    for args in [&["org", "list"][..], &["openapi"]] {
        // The pipe is closed before the command writes (`| head -0`).
        let mut child = contactsd(dir.path(), args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn keys_are_created_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let org = json_lines(dir.path(), &["org", "create", "Acme"]).remove(0);
    let org_id = org["id"].as_str().unwrap();
    let first_key = org["apiKey"].as_str().unwrap();

    let created = json_lines(dir.path(), &["key", "create", org_id]).remove(0);
    assert_eq!(
        keys_of(&created),
        ["id", "apiKey", "name", "readOnly", "expiresAt"]
    );
    assert_eq!(created["readOnly"], false);
    assert_eq!(created["expiresAt"], Value::Null);
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    let second_key = created["apiKey"].as_str().unwrap();
    assert!(is_api_key(second_key));
    assert_ne!(first_key, second_key);

    let listed = run(dir.path(), &["key", "list", org_id]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(!text.contains(first_key) && !text.contains(second_key));
    let keys: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    for key in &keys {
        assert_eq!(
            keys_of(key),
            [
                "id",
                "prefix",
                "createdAt",
                "lastUsedAt",
                "revokedAt",
                "name",
                "readOnly",
                "expiresAt"
            ]
        );
        assert_eq!(key["lastUsedAt"], Value::Null);
        assert_eq!(key["revokedAt"], Value::Null);
    }
    assert_eq!(keys[0]["prefix"], &first_key[..12]);
    assert_eq!(keys[1]["prefix"], &second_key[..12]);

    // Revoke one by id and the other by the key itself.
    json_lines(
        dir.path(),
        &["key", "revoke", created["id"].as_str().unwrap()],
    );
    json_lines(dir.path(), &["key", "revoke", first_key]);
    for key in json_lines(dir.path(), &["key", "list", org_id]) {
        assert!(key["revokedAt"].is_string(), "{key}");
    }
}

#[test]
fn unknown_orgs_and_keys_fail_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["key", "create", "org_nope"][..],
        &["key", "list", "org_nope"],
        &["key", "revoke", "key_nope"],
    ] {
        let output = run(dir.path(), args);
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty());
        assert!(!output.stderr.is_empty());
    }
}

#[test]
fn database_path_comes_from_flag_then_env_then_rocket_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default]\ndatabase = \"from-toml.db\"\n",
    )
    .unwrap();
    json_lines(dir.path(), &["org", "create", "Toml"]);
    assert!(dir.path().join("from-toml.db").exists());

    let output = contactsd(dir.path(), &["org", "create", "Env"])
        .env("CONTACTSD_DATABASE", "from-env.db")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(dir.path().join("from-env.db").exists());

    let output = contactsd(
        dir.path(),
        &["--database", "from-flag.db", "org", "create", "Flag"],
    )
    .env("CONTACTSD_DATABASE", "from-env.db")
    .output()
    .unwrap();
    assert!(output.status.success());
    let orgs = json_lines(dir.path(), &["--database", "from-flag.db", "org", "list"]);
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], "Flag");
    assert!(!dir.path().join("contacts.db").exists());
}

#[cfg(unix)]
#[test]
fn a_new_database_is_readable_by_its_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "Acme"]);
    for file in ["contacts.db", "contacts.db-wal"] {
        let path = dir.path().join(file);
        if file.ends_with("-wal") && !path.exists() {
            continue;
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
}

#[test]
fn a_database_path_that_cannot_be_opened_fails_at_once_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["--database", "no/such/dir/contacts.db", "org", "list"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open database no/such/dir/contacts.db"),
        "{stderr}"
    );
    assert!(stderr.contains("No such file or directory"), "{stderr}");
}

#[test]
fn a_mistyped_rocket_toml_key_stops_every_command_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default]\ndatabse = \"/srv/contacts.db\"\n",
    )
    .unwrap();
    for args in [&["org", "list"][..], &["serve"][..], &[][..]] {
        let output = run(dir.path(), args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("unknown key `databse` in [default]"),
            "{stderr}"
        );
        assert!(stderr.contains("did you mean `database`"), "{stderr}");
    }
    assert!(!dir.path().join("contacts.db").exists());
}

#[test]
fn a_setting_of_the_wrong_type_stops_every_command_naming_it_and_its_type() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default]\nrate_limit_per_minute = \"ten\"\n",
    )
    .unwrap();
    let cases: [(&str, &str, &str, &str); 4] = [
        ("", "", "rate_limit_per_minute", "u32"),
        (
            "ROCKET_WEBHOOK_ALLOW_PRIVATE",
            "maybe",
            "webhook_allow_private",
            "bool",
        ),
        ("ROCKET_PORT", "abc", "port", "u16"),
        (
            "ROCKET_WAL_AUTOCHECKPOINT",
            "-1",
            "wal_autocheckpoint",
            "u32",
        ),
    ];
    for (variable, value, setting, expected) in cases {
        if !variable.is_empty() {
            // The file is right this time; the variable is not.
            std::fs::write(dir.path().join("Rocket.toml"), "[default]\n").unwrap();
        }
        for args in [&["org", "list"][..], &["serve"][..], &[][..]] {
            let mut command = contactsd(dir.path(), args);
            if !variable.is_empty() {
                command.env(variable, value);
            }
            let output = command.output().expect("run contactsd");
            assert_eq!(output.status.code(), Some(1), "{setting} {args:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(&format!("`{setting}`")), "{stderr}");
            assert!(stderr.contains(expected), "{stderr}");
            if !value.is_empty() {
                assert!(stderr.contains(value), "{stderr}");
            }
        }
    }
    assert!(!dir.path().join("contacts.db").exists());
}

#[test]
fn first_serve_creates_default_org_and_prints_a_working_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]);
    let key = server
        .output
        .iter()
        .find_map(|line| line.split_whitespace().find(|w| is_api_key(w)))
        .unwrap_or_else(|| panic!("no key printed: {:#?}", server.output))
        .to_string();

    let (status, body) = http(server.port, "GET", "/healthz", None, "");
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    let (status, _) = http(server.port, "GET", "/v1/contacts", None, "");
    assert_eq!(status, 401);
    let (status, body) = http(
        server.port,
        "POST",
        "/v1/contacts",
        Some(&key),
        r#"{"name":"Priya Sharma","phoneNumber":"+91 98765-43210"}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["phoneNumber"], "+919876543210");

    // Revoked from the CLI while the server runs: the next request is 401.
    json_lines(dir.path(), &["key", "revoke", &key]);
    let (status, body) = http(server.port, "GET", "/v1/contacts", Some(&key), "");
    assert_eq!(status, 401, "{body}");
    drop(server);

    let orgs = json_lines(dir.path(), &["org", "list"]);
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], "default");

    // The second start finds an organization and prints no key.
    let again = serve(dir.path(), &["serve"]);
    assert!(
        again.output.iter().all(|l| !l.contains("sk_live_")),
        "{:#?}",
        again.output
    );
}

#[test]
fn import_and_export_move_an_organizations_contacts_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let org = &json_lines(dir.path(), &["org", "create", "Source"])[0];
    let org_id = org["id"].as_str().unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "\u{feff}Name,Mobile,Language,City\n\
         \"Sharma, Priya\",+91 98765 43210,hi-IN,Mumbai\n\
         Ravi,+919123456789,,\n\
         Broken,12,,\n",
    )
    .unwrap();
    let output = run(dir.path(), &["import", "people.csv", "--org", org_id]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Piped: no progress bar, one JSON line with the final status.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let status = &lines[0];
    assert_eq!(status["status"], "COMPLETED_WITH_ERRORS");
    assert_eq!(
        (status["created"].as_i64(), status["failed"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(status["errors"][0]["index"], 2);
    assert_eq!(status["organizationId"], org_id);

    for format in ["csv", "ndjson"] {
        let file = format!("out.{format}");
        let report = &json_lines(
            dir.path(),
            &[
                "export", "--org", org_id, "--format", format, "--output", &file,
            ],
        )[0];
        assert_eq!(report["contacts"], 2);
        let to_stdout = run(dir.path(), &["export", "--org", org_id, "--format", format]);
        assert!(to_stdout.status.success());
        let written = std::fs::read(dir.path().join(&file)).unwrap();
        assert_eq!(written, to_stdout.stdout);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(&file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let copy = &json_lines(dir.path(), &["org", "create", "Copy"])[0];
        let copy_id = copy["id"].as_str().unwrap();
        let status = &json_lines(dir.path(), &["import", &file, "--org", copy_id])[0];
        assert_eq!(status["status"], "COMPLETED", "{format}: {status}");
        let exported = |id: &str| -> Vec<Value> {
            let output = run(dir.path(), &["export", "--org", id, "--format", "ndjson"]);
            let mut rows: Vec<Value> = String::from_utf8(output.stdout)
                .unwrap()
                .lines()
                .map(|l| {
                    let row: Value = serde_json::from_str(l).unwrap();
                    serde_json::json!([
                        row["phoneNumber"],
                        row["name"],
                        row["language"],
                        row["metadata"]
                    ])
                })
                .collect();
            rows.sort_by_key(|r| r[0].as_str().unwrap().to_string());
            rows
        };
        assert_eq!(exported(org_id), exported(copy_id), "{format}");
    }
    let csv = String::from_utf8(run(dir.path(), &["export", "--org", org_id]).stdout).unwrap();
    assert!(csv.starts_with("id,name,phoneNumber,language,metadata,createdAt,updatedAt\n"));
    assert!(
        csv.contains("\"Sharma, Priya\",+919876543210,hi-IN,\"{\"\"City\"\":\"\"Mumbai\"\"}\""),
        "{csv}"
    );

    let refused = run(dir.path(), &["import", "people.csv", "--org", "org_nope"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("org_nope"));
    std::fs::write(dir.path().join("bad.csv"), "name,email\nA,a@example.com\n").unwrap();
    let refused = run(dir.path(), &["import", "bad.csv", "--org", org_id]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("phoneNumber"));
    let refused = run(dir.path(), &["import", "people.txt", "--org", org_id]);
    assert_eq!(refused.status.code(), Some(1));
}

#[test]
fn import_with_an_audience_and_the_webhook_secret() {
    let dir = tempfile::tempdir().unwrap();
    let org_id = json_lines(dir.path(), &["org", "create", "Acme"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db = contactsd_store::Db::open(&dir.path().join("contacts.db")).unwrap();
    let key = db.issue_key(&org_id).unwrap().key;
    let name = contactsd_domain::Name::parse("Gold").unwrap();
    let runtime = rocket::tokio::runtime::Runtime::new().unwrap();
    let audience = runtime
        .block_on(db.tenant(key).create_audience(name, None))
        .unwrap()
        .value;
    drop(db);
    std::fs::write(
        dir.path().join("rows.jsonl"),
        "{\"name\":\"A\",\"phoneNumber\":\"+14155550001\",\"tier\":\"gold\"}\n\n{\"name\":\"B\",\"phoneNumber\":\"+14155550002\"}\n",
    )
    .unwrap();
    let refused = run(
        dir.path(),
        &[
            "import",
            "rows.jsonl",
            "--org",
            &org_id,
            "--audience",
            "aud_nope",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("aud_nope"));
    let status = &json_lines(
        dir.path(),
        &[
            "import",
            "rows.jsonl",
            "--org",
            &org_id,
            "--audience",
            &audience.id,
        ],
    )[0];
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(status["audienceId"], audience.id.as_str());
    let sqlite = rusqlite::Connection::open(dir.path().join("contacts.db")).unwrap();
    let (members, count): (i64, i64) = sqlite
        .query_row(
            "SELECT (SELECT count(*) FROM audience_members), contact_count FROM audiences",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((members, count), (2, 2));
    let metadata: String = sqlite
        .query_row(
            "SELECT metadata FROM contacts WHERE phone = '+14155550001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(metadata, r#"{"tier":"gold"}"#);

    let first = &json_lines(dir.path(), &["org", "webhook-secret", &org_id])[0];
    assert_eq!(keys_of(first), ["webhookSecret"]);
    let secret = first["webhookSecret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    let again = &json_lines(dir.path(), &["org", "webhook-secret", &org_id])[0];
    assert_eq!(again["webhookSecret"], secret);
    let rotated = &json_lines(dir.path(), &["org", "webhook-secret", &org_id, "--rotate"])[0];
    assert_eq!(keys_of(rotated), ["webhookSecret"]);
    assert_ne!(rotated["webhookSecret"], secret);
    let now = &json_lines(dir.path(), &["org", "webhook-secret", &org_id])[0];
    assert_eq!(now["webhookSecret"], rotated["webhookSecret"]);
    let refused = run(dir.path(), &["org", "webhook-secret", "org_nope"]);
    assert_eq!(refused.status.code(), Some(1));
}

#[test]
fn check_reports_the_file_and_the_search_index() {
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "Acme"]);
    let report = &json_lines(dir.path(), &["check"])[0];
    assert_eq!(
        keys_of(report),
        ["integrityCheck", "searchIndex", "contacts"]
    );
    assert_eq!(report["integrityCheck"], "ok");
    assert_eq!(report["searchIndex"], "ok");
    assert_eq!(report["contacts"], 0);
}

#[test]
fn check_takes_a_path_and_refuses_what_is_not_a_contactsd_database() {
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "Acme"]);
    std::fs::rename(dir.path().join("contacts.db"), dir.path().join("copy.db")).unwrap();
    // PATH wins over --database.
    let report = &json_lines(dir.path(), &["--database", "other.db", "check", "copy.db"])[0];
    assert_eq!(report["integrityCheck"], "ok");
    std::fs::write(dir.path().join("notes.txt"), "not a database").unwrap();
    rusqlite::Connection::open(dir.path().join("plain.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    for file in ["missing.db", "notes.txt", "plain.db"] {
        let output = run(dir.path(), &["check", file]);
        assert_ne!(output.status.code(), Some(0), "{file}");
        assert!(
            !String::from_utf8_lossy(&output.stderr).is_empty(),
            "{file}"
        );
    }
    assert!(
        !dir.path().join("missing.db").exists(),
        "check creates nothing"
    );
    assert!(!dir.path().join("other.db").exists());
}

#[test]
fn restore_refuses_a_file_that_is_not_a_contactsd_database_of_this_version() {
    let dir = tempfile::tempdir().unwrap();
    json_lines(dir.path(), &["org", "create", "Acme"]);
    let live = std::fs::read(dir.path().join("contacts.db")).unwrap();
    let one_table = dir.path().join("one-table.db");
    rusqlite::Connection::open(&one_table)
        .unwrap()
        .execute_batch("CREATE TABLE contacts (id TEXT); PRAGMA user_version = 1;")
        .unwrap();
    let newer = dir.path().join("newer.db");
    std::fs::copy(dir.path().join("contacts.db"), &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 999;")
        .unwrap();
    for (file, reason) in [
        ("one-table.db", "not a contactsd database"),
        ("newer.db", "newer contactsd"),
    ] {
        let output = run(dir.path(), &["restore", file]);
        assert_eq!(output.status.code(), Some(1), "{file}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{file}: {stderr}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("contacts.db")).unwrap(),
        live,
        "the live database is untouched"
    );
    assert_eq!(json_lines(dir.path(), &["org", "list"]).len(), 1);
}

#[test]
fn export_output_replaces_a_link_and_is_private_and_backup_leaves_other_files_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let org = &json_lines(dir.path(), &["org", "create", "Acme"])[0];
    let org_id = org["id"].as_str().unwrap();
    // An existing world-readable file, and a link pointing at another one.
    let target = dir.path().join("elsewhere.csv");
    std::fs::write(&target, "not to be touched").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("out.csv")).unwrap();
    std::fs::write(dir.path().join("old.csv"), "old").unwrap();
    std::fs::set_permissions(
        dir.path().join("old.csv"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    for output in ["out.csv", "old.csv"] {
        json_lines(dir.path(), &["export", "--org", org_id, "--output", output]);
        let path = dir.path().join(output);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file(), "{output} is a file, not a link");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{output}");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("id,name,"));
    }
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not to be touched"
    );
    // `backup X.db` never deletes an X.partial of someone else's.
    std::fs::write(dir.path().join("copy.partial"), "mine").unwrap();
    json_lines(dir.path(), &["backup", "copy.db"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("copy.partial")).unwrap(),
        "mine"
    );
    assert!(dir.path().join("copy.db").exists());
    // A missing directory is made, private, on the way.
    let copied = &json_lines(dir.path(), &["backup", "backups/2026/copy.db"])[0];
    assert_eq!(copied["path"], "backups/2026/copy.db");
    assert!(dir.path().join("backups/2026/copy.db").exists());
    let made = std::fs::metadata(dir.path().join("backups")).unwrap();
    assert_eq!(made.permissions().mode() & 0o777, 0o700);
}

#[test]
fn keys_can_be_named_read_only_and_expiring() {
    let dir = tempfile::tempdir().unwrap();
    let org = &json_lines(dir.path(), &["org", "create", "Acme"])[0];
    let org_id = org["id"].as_str().unwrap();
    let key = &json_lines(
        dir.path(),
        &[
            "key",
            "create",
            org_id,
            "--read-only",
            "--expires-in",
            "30",
            "--name",
            "reports",
        ],
    )[0];
    assert_eq!(key["name"], "reports");
    assert_eq!(key["readOnly"], true);
    let created = time::OffsetDateTime::now_utc();
    let expires = time::OffsetDateTime::parse(
        key["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expires - created).whole_hours();
    assert!((719..=720).contains(&days), "{days} hours");
    let listed = json_lines(dir.path(), &["key", "list", org_id]);
    let listed = listed.iter().find(|k| k["id"] == key["id"]).unwrap();
    assert_eq!(listed["name"], "reports");
    assert_eq!(listed["readOnly"], true);
    assert_eq!(listed["expiresAt"], key["expiresAt"]);
    for bad in ["0", "-1", "1.5", "soon"] {
        let output = run(dir.path(), &["key", "create", org_id, "--expires-in", bad]);
        assert_eq!(output.status.code(), Some(2), "--expires-in {bad}");
    }
}

#[test]
fn org_rename_and_org_delete_with_everything_it_owns() {
    use crate::helpers::TestApp;
    let app = TestApp::spawn();
    let (other_id, other_key) = app.other_org();
    let contact = app.post(
        "/v1/contacts",
        &serde_json::json!({"name": "Priya", "phoneNumber": "+919876543210"}),
    );
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    app.post(
        "/v1/contacts",
        &serde_json::json!({"name": "Ravi", "phoneNumber": "+919876543211"}),
    );
    let audience = app.post("/v1/audiences", &serde_json::json!({"name": "Pune"}));
    let audience_id = audience.body["id"].as_str().unwrap();
    app.post(
        &format!("/v1/audiences/{audience_id}/contacts"),
        &serde_json::json!({"contactIds": [contact_id]}),
    );
    app.post(
        "/v1/calls",
        &serde_json::json!({"contactId": contact_id, "status": "completed"}),
    );
    let kept = app.send(
        rocket::http::Method::Post,
        "/v1/contacts",
        Some(&other_key),
        Some(serde_json::json!({"name": "Kept", "phoneNumber": "+14155552671"}).to_string()),
    );
    assert_eq!(kept.status.code, 201);
    let dir = app.db_path.parent().unwrap();
    let db = app.db_path.to_str().unwrap();
    let org_id = json_lines(dir, &["--database", db, "org", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let renamed = &json_lines(
        dir,
        &["--database", db, "org", "rename", &org_id, "Acme India"],
    )[0];
    assert_eq!(keys_of(renamed), ["id", "name", "createdAt"]);
    assert_eq!(renamed["name"], "Acme India");
    // Without --yes: a usage error, nothing deleted.
    let refused = run(dir, &["--database", db, "org", "delete", &org_id]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(app.get("/v1/contacts").body["total"], 2);
    let deleted = &json_lines(dir, &["--database", db, "org", "delete", &org_id, "--yes"])[0];
    assert_eq!(
        deleted["deleted"],
        serde_json::json!({"contacts": 2, "audiences": 1, "memberships": 1, "calls": 1,
                           "imports": 0, "keys": 1, "webhooks": 0, "doNotCall": 0})
    );
    app.get("/v1/contacts").assert_error(401, "unauthorized");
    // Nothing of it is left for the changes feed either: no tombstones.
    let tombstones: i64 = app
        .sqlite()
        .query_row("SELECT count(*) FROM change_tombstones", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tombstones, 0);
    let unknown = run(
        dir,
        &["--database", db, "org", "delete", "org_nope", "--yes"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    // The other organization is whole, its search index too.
    let others = json_lines(dir, &["--database", db, "org", "list"]);
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["id"], other_id);
    let found = app.send(
        rocket::http::Method::Get,
        "/v1/contacts?search=kept",
        Some(&other_key),
        None,
    );
    assert_eq!(found.body["total"], 1);
    let checked = &json_lines(dir, &["--database", db, "check"])[0];
    assert_eq!(checked["searchIndex"], "ok");
    assert_eq!(checked["contacts"], 1);
}
