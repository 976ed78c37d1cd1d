//! Flyway's `schemas` (and `defaultSchema`) settings, read where Flyway
//! users write them, in the nearest of these files above the migrations
//! folder (the first that names schemas wins, in this order):
//!
//! - `flyway.toml`: `schemas = [...]` in the selected environment
//!   (`[flyway] environment`, else `default`), else under `[flyway]`;
//! - `flyway.conf`: `flyway.schemas=a,b`, `flyway.defaultSchema=a`;
//! - Maven `pom.xml`: the `<flyway.schemas>` property, or `<schemas>` in the
//!   configuration of `flyway-maven-plugin` (`a,b` or `<schema>a</schema>`);
//! - Gradle `build.gradle(.kts)`: `schemas = [...]` in the `flyway { }` block;
//! - Spring Boot `application.properties` / `application.yml`:
//!   `spring.flyway.schemas`, `spring.flyway.default-schema`.
//!
//! Flyway (`createSchemas`, true by default) creates every schema named
//! before it migrates; the default schema (`defaultSchema`, else the first
//! of `schemas`) is where it keeps `flyway_schema_history` and where the
//! migrations run (PostgreSQL: first on the `search_path`). A value holding
//! a `${...}` placeholder is not guessed: the setting is not read.

use crate::model::ToolSchemas;
use std::collections::BTreeMap;

/// The ancestor files read (see [`crate::layout::Layout::ancestor_side_files`]).
pub const FILES: &[&str] = &[
    "flyway.toml",
    "flyway.conf",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "application.properties",
    "application.yml",
    "application.yaml",
];

/// The schemas the project's Flyway settings name, from the folder's
/// ancestor files (`aux` keys `../<name>`).
pub fn schemas(aux: &BTreeMap<String, String>) -> Option<ToolSchemas> {
    for name in FILES {
        let Some(text) = aux.get(&format!("../{name}")) else {
            continue;
        };
        let found = match *name {
            "flyway.toml" => from_toml(text),
            "flyway.conf" => from_properties(text, "flyway.schemas", "flyway.defaultSchema"),
            "pom.xml" => from_pom(text),
            "build.gradle" | "build.gradle.kts" => from_gradle(text),
            "application.properties" => from_properties(
                text,
                "spring.flyway.schemas",
                "spring.flyway.default-schema",
            ),
            _ => from_yaml(text),
        };
        if let Some((names, key)) = found {
            return Some(ToolSchemas {
                names,
                from: format!("{key} in ../{name}"),
            });
        }
    }
    None
}

/// The default schema first, then the others in order, without repeats;
/// `None` when nothing usable is named (empty, or a placeholder).
fn combine(default: Option<String>, list: Vec<String>) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in default.into_iter().chain(list) {
        let s = s.trim().trim_matches(['"', '\'']).trim().to_string();
        if s.contains("${") {
            return None;
        }
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_string()).collect()
}

/// `key=a,b` (and `key: a,b`) lines of a properties file; `key[0]=a` too.
fn from_properties(text: &str, key: &str, default_key: &str) -> Option<(Vec<String>, String)> {
    let mut list: Vec<String> = Vec::new();
    let mut default = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            continue;
        };
        let k = k.trim();
        let base = k.split_once('[').map_or(k, |(b, _)| b);
        if base == key {
            list.extend(split_list(v));
        } else if k == default_key {
            default = Some(v.trim().to_string());
        }
    }
    combine(default, list).map(|n| (n, key.to_string()))
}

fn from_toml(text: &str) -> Option<(Vec<String>, String)> {
    let table: toml::Table = text.parse().ok()?;
    let flyway = table.get("flyway");
    let env = flyway
        .and_then(|f| f.get("environment"))
        .and_then(|e| e.as_str())
        .unwrap_or("default");
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        match v {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(toml::Value::String(s)) => split_list(s),
            _ => Vec::new(),
        }
    };
    let environment = table.get("environments").and_then(|e| e.get(env));
    for (section, at) in [
        (environment, format!("environments.{env}")),
        (flyway, "flyway".to_string()),
    ] {
        let Some(section) = section else { continue };
        let default = section
            .get("defaultSchema")
            .and_then(|d| d.as_str())
            .map(str::to_string);
        if let Some(names) = combine(default, strings(section.get("schemas"))) {
            return Some((names, format!("schemas under [{at}]")));
        }
    }
    None
}

/// The text of the first `<tag>...</tag>` in `text` after `from`.
fn element<'t>(text: &'t str, tag: &str) -> Option<&'t str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(&text[start..end])
}

/// Strips XML comments.
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("-->").map_or("", |j| &rest[i + j + 3..]);
    }
    out.push_str(rest);
    out
}

fn from_pom(text: &str) -> Option<(Vec<String>, String)> {
    let text = without_comments(text);
    // The property (`-Dflyway.schemas` overrides it on the command line).
    let property = element(&text, "flyway.schemas").map(split_list);
    let default = element(&text, "flyway.defaultSchema").map(str::to_string);
    if let Some(names) = combine(default.clone(), property.unwrap_or_default()) {
        return Some((names, "<flyway.schemas>".into()));
    }
    // The plugin's configuration.
    let plugin = text.find("<artifactId>flyway-maven-plugin</artifactId>")?;
    let rest = &text[plugin..];
    let rest = &rest[..rest.find("</plugin>").unwrap_or(rest.len())];
    let config = element(rest, "configuration")?;
    let schemas = element(config, "schemas")?;
    let list = if schemas.contains("<schema>") {
        schemas
            .split("<schema>")
            .skip(1)
            .filter_map(|s| s.split_once("</schema>").map(|(v, _)| v.to_string()))
            .collect()
    } else {
        split_list(schemas)
    };
    let default = element(config, "defaultSchema").map(str::to_string);
    combine(default, list).map(|n| (n, "<schemas> of flyway-maven-plugin".into()))
}

/// The quoted strings of `text` (`'a'`, `"a"`).
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\'', '"']) {
        let q = rest.as_bytes()[i] as char;
        let Some(j) = rest[i + 1..].find(q) else {
            break;
        };
        out.push(rest[i + 1..i + 1 + j].to_string());
        rest = &rest[i + j + 2..];
    }
    out
}

fn from_gradle(text: &str) -> Option<(Vec<String>, String)> {
    let block = text.find("flyway {").or_else(|| text.find("flyway{"))?;
    let body = &text[block..];
    let mut list = Vec::new();
    let mut default = None;
    for line in body.lines().skip(1) {
        let t = line.trim();
        if t.starts_with('}') {
            break;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        match k.trim() {
            "schemas" => list = quoted(v),
            "defaultSchema" => default = quoted(v).into_iter().next(),
            _ => {}
        }
    }
    combine(default, list).map(|n| (n, "schemas in the flyway { } block".into()))
}

/// `spring: flyway: schemas:` in a YAML file (by indentation; inline
/// `a,b`, `[a, b]`, or a `- a` list).
fn from_yaml(text: &str) -> Option<(Vec<String>, String)> {
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let mut default = None;
    let mut in_list: Option<usize> = None;
    for line in text.lines() {
        let t = line.trim_end();
        let body = t.trim_start();
        if body.is_empty() || body.starts_with('#') || body == "---" {
            continue;
        }
        let indent = t.len() - body.len();
        if let Some(at) = in_list {
            if let Some(item) = body.strip_prefix("- ") {
                if indent >= at {
                    list.push(item.to_string());
                    continue;
                }
            }
            in_list = None;
        }
        let Some((k, v)) = body.split_once(':') else {
            continue;
        };
        while path.last().is_some_and(|(i, _)| *i >= indent) {
            path.pop();
        }
        let key: Vec<&str> = path
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([k.trim()])
            .collect();
        let key = key.join(".");
        let v = v.split(" #").next().unwrap_or("").trim();
        match key.as_str() {
            "spring.flyway.schemas" if v.is_empty() => in_list = Some(indent),
            "spring.flyway.schemas" => {
                list = split_list(v.trim_start_matches('[').trim_end_matches(']'));
            }
            "spring.flyway.default-schema" | "spring.flyway.defaultSchema" => {
                default = Some(v.to_string());
            }
            _ => {}
        }
        if v.is_empty() {
            path.push((indent, k.trim().to_string()));
        }
    }
    combine(default, list).map(|n| (n, "spring.flyway.schemas".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Option<(Vec<String>, String)> {
        let mut aux = BTreeMap::new();
        aux.insert(format!("../{name}"), text.to_string());
        schemas(&aux).map(|s| (s.names, s.from))
    }

    fn names(name: &str, text: &str) -> Vec<String> {
        read(name, text).map(|r| r.0).unwrap_or_default()
    }

    #[test]
    fn every_place_flyway_users_write_it() {
        assert_eq!(
            names(
                "flyway.conf",
                "# x\nflyway.url=jdbc:x\nflyway.schemas=app, audit\n"
            ),
            ["app", "audit"]
        );
        assert_eq!(
            names(
                "flyway.conf",
                "flyway.schemas=app,audit\nflyway.defaultSchema=audit\n"
            ),
            ["audit", "app"]
        );
        assert_eq!(
            names(
                "flyway.toml",
                "[flyway]\nlocations = [\"filesystem:db\"]\n[environments.default]\nschemas = [\"app\"]\n"
            ),
            ["app"]
        );
        assert_eq!(
            names(
                "flyway.toml",
                "[flyway]\nenvironment = \"prod\"\n[environments.default]\nschemas = [\"a\"]\n[environments.prod]\nschemas = [\"b\"]\n"
            ),
            ["b"]
        );
        let (n, from) = read(
            "pom.xml",
            "<project><properties><flyway.schemas>idr</flyway.schemas></properties></project>",
        )
        .unwrap();
        assert_eq!(
            (n, from.as_str()),
            (vec!["idr".to_string()], "<flyway.schemas> in ../pom.xml")
        );
        assert_eq!(
            names(
                "pom.xml",
                "<plugin><artifactId>flyway-maven-plugin</artifactId><configuration>\
                 <url>x</url><schemas><schema>a</schema><schema>b</schema></schemas>\
                 </configuration></plugin>"
            ),
            ["a", "b"]
        );
        assert_eq!(
            names(
                "build.gradle",
                "plugins { id 'org.flywaydb.flyway' }\nflyway {\n    url = 'jdbc:x'\n    schemas = ['app', 'audit']\n}\n"
            ),
            ["app", "audit"]
        );
        assert_eq!(
            names(
                "build.gradle.kts",
                "flyway {\n    schemas = arrayOf(\"app\")\n}\n"
            ),
            ["app"]
        );
        assert_eq!(
            names(
                "application.properties",
                "spring.datasource.url=x\nspring.flyway.schemas=app\n"
            ),
            ["app"]
        );
        assert_eq!(
            names(
                "application.yml",
                "spring:\n  datasource:\n    url: x\n  flyway:\n    schemas:\n      - app\n      - audit\n    enabled: true\n"
            ),
            ["app", "audit"]
        );
        assert_eq!(
            names(
                "application.yaml",
                "spring:\n  flyway:\n    schemas: app, audit\n"
            ),
            ["app", "audit"]
        );
    }

    #[test]
    fn placeholders_and_other_settings_are_not_read() {
        assert!(read("flyway.conf", "flyway.schemas=${SCHEMA}\n").is_none());
        assert!(read("pom.xml", "<!-- <flyway.schemas>x</flyway.schemas> -->").is_none());
        assert!(read("application.yml", "other:\n  flyway:\n    schemas: app\n").is_none());
        assert!(read("flyway.conf", "flyway.schemasX=a\n").is_none());
    }
}
