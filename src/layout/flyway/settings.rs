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
//!
//! The same files give Flyway's placeholder settings ([`placeholders`]):
//! their values are used as `--define` values are (which win over them).

use crate::model::{ToolPlaceholders, ToolSchemas};
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
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for s in default.into_iter().chain(list) {
        let s = s.trim().trim_matches(['"', '\'']).trim().to_string();
        if s.contains("${") {
            return None;
        }
        if !s.is_empty() && seen.insert(s.clone()) {
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
        if let Some(names) = combine(default, toml_strings(section.get("schemas"))) {
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
/// `a,b`, `[a, b]`, or a `- a` list), with `default-schema`.
fn from_yaml(text: &str) -> Option<(Vec<String>, String)> {
    let list = yaml_list(text, "spring.flyway.schemas");
    let default = [
        "spring.flyway.default-schema",
        "spring.flyway.defaultSchema",
    ]
    .iter()
    .find_map(|k| yaml_list(text, k).into_iter().next());
    combine(default, list).map(|n| (n, "spring.flyway.schemas".into()))
}

/// Flyway's `locations` setting, from the project's files above the
/// migrations (each of [`FILES`] that names any, in that order): the paths
/// without their `classpath:` or `filesystem:` prefix and without leading
/// `./` and slashes (`classpath:db/migration` is `db/migration`). A value
/// Flyway or Spring fills in (`{vendor}`, `${...}`), a wildcard or a cloud
/// location is left out: twice would have to guess where it points.
///
/// - `flyway.toml`: `locations` under `[flyway]`;
/// - `flyway.conf`: `flyway.locations=a,b`;
/// - Maven `pom.xml`: the `<flyway.locations>` property, or `<locations>` in
///   the configuration of `flyway-maven-plugin`;
/// - Gradle: `locations = [...]` in the `flyway { }` block;
/// - Spring Boot: `spring.flyway.locations` (a comma list, `[a, b]` or a
///   `- a` list in YAML).
pub fn locations(aux: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in FILES {
        let Some(text) = aux.get(&format!("../{name}")) else {
            continue;
        };
        let values = match *name {
            "flyway.toml" => toml_locations(text),
            "flyway.conf" => property_list(text, "flyway.locations"),
            "pom.xml" => pom_locations(text),
            "build.gradle" | "build.gradle.kts" => gradle_locations(text),
            "application.properties" => property_list(text, "spring.flyway.locations"),
            _ => yaml_list(text, "spring.flyway.locations"),
        };
        for v in values {
            if let Some(p) = location_path(&v) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// The path a `locations` value names (see [`locations`]).
fn location_path(v: &str) -> Option<String> {
    let v = v.trim().trim_matches(['"', '\'']).trim();
    let v = v
        .strip_prefix("classpath:")
        .or_else(|| v.strip_prefix("filesystem:"))
        .unwrap_or(v);
    if v.contains(['{', '*', '?']) || v.contains("://") || v.contains(':') {
        return None;
    }
    let mut v = v;
    while let Some(rest) = v.strip_prefix("./") {
        v = rest;
    }
    let v = v.trim_matches('/');
    (!v.is_empty() && v != ".").then(|| v.to_string())
}

/// The values of `key` (and `key[0]`, ...) in a properties file, each a
/// comma list.
fn property_list(text: &str, key: &str) -> Vec<String> {
    property_pairs(text)
        .into_iter()
        .filter(|(k, _)| k.split_once('[').map_or(k.as_str(), |(b, _)| b) == key)
        .flat_map(|(_, v)| split_list(&v))
        .collect()
}

fn toml_locations(text: &str) -> Vec<String> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    toml_strings(table.get("flyway").and_then(|f| f.get("locations")))
}

/// A TOML value that lists names: an array of strings, or a comma list.
fn toml_strings(v: Option<&toml::Value>) -> Vec<String> {
    match v {
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(toml::Value::String(s)) => split_list(s),
        _ => Vec::new(),
    }
}

fn pom_locations(text: &str) -> Vec<String> {
    let text = without_comments(text);
    if let Some(v) = element(&text, "flyway.locations") {
        return split_list(v);
    }
    let Some(plugin) = text.find("<artifactId>flyway-maven-plugin</artifactId>") else {
        return Vec::new();
    };
    let rest = &text[plugin..];
    let rest = &rest[..rest.find("</plugin>").unwrap_or(rest.len())];
    let Some(list) = element(rest, "configuration").and_then(|c| element(c, "locations")) else {
        return Vec::new();
    };
    if list.contains("<location>") {
        list.split("<location>")
            .skip(1)
            .filter_map(|s| s.split_once("</location>").map(|(v, _)| v.to_string()))
            .collect()
    } else {
        split_list(list)
    }
}

fn gradle_locations(text: &str) -> Vec<String> {
    let Some(block) = text.find("flyway {").or_else(|| text.find("flyway{")) else {
        return Vec::new();
    };
    for line in text[block..].lines().skip(1) {
        let t = line.trim();
        if t.starts_with('}') {
            break;
        }
        if let Some((k, v)) = t.split_once('=') {
            if k.trim() == "locations" {
                return quoted(v);
            }
        }
    }
    Vec::new()
}

/// The value of the dotted `key` in a YAML file (by indentation): an
/// inline `a,b` or `[a, b]`, or a `- a` list below it.
fn yaml_list(text: &str, key: &str) -> Vec<String> {
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut list: Vec<String> = Vec::new();
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
                    list.push(item.split(" #").next().unwrap_or("").trim().to_string());
                    continue;
                }
            }
            in_list = None;
        }
        if body.starts_with("- ") {
            continue;
        }
        let Some((k, v)) = body
            .split_once(": ")
            .or_else(|| body.strip_suffix(':').map(|k| (k, "")))
        else {
            continue;
        };
        while path.last().is_some_and(|(i, _)| *i >= indent) {
            path.pop();
        }
        let k = k.trim().trim_matches(['"', '\'']);
        let v = v.split(" #").next().unwrap_or("").trim();
        let long = path.iter().map(|(_, k)| k.len() + 1).sum::<usize>() + k.len() > 64;
        let here = !long && {
            let full: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).chain([k]).collect();
            full.join(".") == key
        };
        if here && v.is_empty() {
            in_list = Some(indent);
        } else if here {
            list.extend(split_list(v.trim_start_matches('[').trim_end_matches(']')));
        }
        if v.is_empty() {
            path.push((indent, k.to_string()));
        }
    }
    list
}

/// The placeholder settings of the project's Flyway configuration, from
/// every one of [`FILES`] above the folder that gives any (for a name given
/// in several, the first in that order wins):
///
/// - `flyway.toml`: the `[flyway.placeholders]` table, `placeholderReplacement`,
///   `placeholderPrefix`, `placeholderSuffix` under `[flyway]`;
/// - `flyway.conf`: `flyway.placeholders.<name>=value`,
///   `flyway.placeholderReplacement=false`, `flyway.placeholderPrefix=...`;
/// - Maven `pom.xml`: `<flyway.placeholders.<name>>` properties, or
///   `<placeholders>` (one element per name), `<placeholderReplacement>`,
///   `<placeholderPrefix>` in the configuration of `flyway-maven-plugin`;
/// - Gradle: `placeholders = ['name': 'value']` (or `mapOf("name" to
///   "value")`), `placeholderReplacement = false` in the `flyway { }` block;
/// - Spring Boot `application.properties` / `.yml`:
///   `spring.flyway.placeholders.<name>`, `spring.flyway.placeholder-replacement`,
///   `spring.flyway.placeholder-prefix` (or the camelCase names). A value
///   that is a Spring property reference (`${app.flag:false}`) takes the
///   property's value from the same file, else its default; one that cannot
///   be resolved so is not read.
///
/// `None` when no file gives any of them.
pub fn placeholders(aux: &BTreeMap<String, String>) -> Option<ToolPlaceholders> {
    let mut out = ToolPlaceholders {
        dollar_braces: true,
        ..ToolPlaceholders::default()
    };
    let mut from = Vec::new();
    for name in FILES {
        let Some(text) = aux.get(&format!("../{name}")) else {
            continue;
        };
        let pairs = match *name {
            "flyway.toml" => toml_pairs(text),
            "flyway.conf" => property_pairs(text),
            "pom.xml" => pom_pairs(text),
            "build.gradle" | "build.gradle.kts" => gradle_pairs(text),
            "application.properties" => property_pairs(text),
            _ => yaml_pairs(text),
        };
        let prefix = if name.starts_with("application.") {
            "spring.flyway."
        } else {
            "flyway."
        };
        let mut used = false;
        let mut prefix_suffix = (None, None);
        for (k, v) in &pairs {
            let Some(key) = k.strip_prefix(prefix) else {
                continue;
            };
            let v = v.trim().trim_matches(['"', '\'']);
            if let Some(ph) = key.strip_prefix("placeholders.") {
                let Some(v) = resolve(v, &pairs) else {
                    continue;
                };
                out.values.entry(ph.to_string()).or_insert(v);
                used = true;
                continue;
            }
            match key {
                "placeholderReplacement" | "placeholder-replacement" => {
                    if v.eq_ignore_ascii_case("false") {
                        out.dollar_braces = false;
                    }
                    used = true;
                }
                "placeholderPrefix" | "placeholder-prefix" => prefix_suffix.0 = Some(v.to_string()),
                "placeholderSuffix" | "placeholder-suffix" => prefix_suffix.1 = Some(v.to_string()),
                _ => {}
            }
        }
        if prefix_suffix.0.as_deref().is_some_and(|p| p != "${")
            || prefix_suffix.1.as_deref().is_some_and(|s| s != "}")
        {
            out.dollar_braces = false;
            used = true;
        }
        if used {
            from.push(format!("../{name}"));
        }
    }
    if from.is_empty() {
        return None;
    }
    out.from = from.join(", ");
    Some(out)
}

/// A setting's value with a Spring property reference (`${p}`,
/// `${p:default}`) resolved from `pairs`, else to its default; `None` when
/// it holds a reference that cannot be resolved so.
fn resolve(v: &str, pairs: &[(String, String)]) -> Option<String> {
    let Some(inner) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) else {
        return (!v.contains("${")).then(|| v.to_string());
    };
    let (name, default) = match inner.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (inner, None),
    };
    let found = pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
        .filter(|v| !v.contains("${"));
    found.or_else(|| default.filter(|d| !d.contains("${")).map(str::to_string))
}

/// The `key=value` (and `key: value`) lines of a properties file.
fn property_pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // The first `=` or `:` separates, unless a `:` comes from a
        // value's `${p:default}` after a `=`.
        let at = match (line.find('='), line.find(':')) {
            (Some(e), Some(c)) => e.min(c),
            (e, c) => match e.or(c) {
                Some(i) => i,
                None => continue,
            },
        };
        out.push((
            line[..at].trim().to_string(),
            line[at + 1..].trim().to_string(),
        ));
    }
    out
}

/// The scalars of a YAML file as dotted keys (by indentation; lists are
/// not read).
fn yaml_pairs(text: &str) -> Vec<(String, String)> {
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_end();
        let body = t.trim_start();
        if body.is_empty() || body.starts_with('#') || body == "---" || body.starts_with("- ") {
            continue;
        }
        let indent = t.len() - body.len();
        let Some((k, v)) = body
            .split_once(": ")
            .or_else(|| body.strip_suffix(':').map(|k| (k, "")))
        else {
            continue;
        };
        while path.last().is_some_and(|(i, _)| *i >= indent) {
            path.pop();
        }
        let k = k.trim().trim_matches(['"', '\'']);
        let v = v.split(" #").next().unwrap_or("").trim();
        if v.is_empty() {
            path.push((indent, k.to_string()));
        } else {
            let key: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).chain([k]).collect();
            out.push((key.join("."), v.to_string()));
        }
    }
    out
}

/// The `[flyway]` settings of a `flyway.toml` as `flyway.<key>` pairs
/// (`[flyway.placeholders]` as `flyway.placeholders.<name>`).
fn toml_pairs(text: &str) -> Vec<(String, String)> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(toml::Value::Table(flyway)) = table.get("flyway") else {
        return out;
    };
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
            Some(v.to_string())
        }
        _ => None,
    };
    for (k, v) in flyway {
        match (k.as_str(), v) {
            ("placeholders", toml::Value::Table(t)) => {
                for (n, v) in t {
                    if let Some(v) = scalar(v) {
                        out.push((format!("flyway.placeholders.{n}"), v));
                    }
                }
            }
            _ => {
                if let Some(v) = scalar(v) {
                    out.push((format!("flyway.{k}"), v));
                }
            }
        }
    }
    out
}

/// The Flyway settings of a `pom.xml` as `flyway.<key>` pairs: the
/// `<flyway.*>` properties, then the `flyway-maven-plugin` configuration.
fn pom_pairs(text: &str) -> Vec<(String, String)> {
    let text = without_comments(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<flyway.") {
        let after = &rest[i + 1..];
        let Some(close) = after.find('>') else { break };
        let tag = &after[..close];
        let body = &after[close + 1..];
        if let Some(end) = body.find(&format!("</{tag}>")) {
            if !tag.contains([' ', '/']) {
                out.push((tag.to_string(), body[..end].trim().to_string()));
            }
        }
        rest = after;
    }
    let Some(plugin) = text.find("<artifactId>flyway-maven-plugin</artifactId>") else {
        return out;
    };
    let rest = &text[plugin..];
    let rest = &rest[..rest.find("</plugin>").unwrap_or(rest.len())];
    let Some(config) = element(rest, "configuration") else {
        return out;
    };
    for key in [
        "placeholderReplacement",
        "placeholderPrefix",
        "placeholderSuffix",
    ] {
        if let Some(v) = element(config, key) {
            out.push((format!("flyway.{key}"), v.trim().to_string()));
        }
    }
    if let Some(list) = element(config, "placeholders") {
        let mut rest = list;
        while let Some(i) = rest.find('<') {
            let after = &rest[i + 1..];
            let Some(close) = after.find('>') else { break };
            let tag = &after[..close];
            let body = &after[close + 1..];
            let Some(end) = body.find(&format!("</{tag}>")) else {
                rest = after;
                continue;
            };
            out.push((
                format!("flyway.placeholders.{tag}"),
                body[..end].trim().to_string(),
            ));
            rest = &body[end..];
        }
    }
    out
}

/// The Flyway settings of the `flyway { }` block of a Gradle build as
/// `flyway.<key>` pairs (`placeholders = ['a': 'b']`, `mapOf("a" to "b")`).
fn gradle_pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(block) = text.find("flyway {").or_else(|| text.find("flyway{")) else {
        return out;
    };
    let body = &text[block..];
    let mut lines = body.lines().skip(1);
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.starts_with('}') {
            break;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k == "placeholders" {
            // The map, up to its closing bracket (possibly lines later).
            let mut map = v.to_string();
            let closes = |m: &str| m.contains(']') || m.trim_end().ends_with(')');
            while !closes(&map) {
                match lines.next() {
                    Some(l) => map.push_str(l),
                    None => break,
                }
            }
            let q = quoted(&map);
            for pair in q.chunks(2) {
                if let [n, v] = pair {
                    out.push((format!("flyway.placeholders.{n}"), v.clone()));
                }
            }
        } else {
            let v = v.trim();
            let v = quoted(v)
                .into_iter()
                .next()
                .unwrap_or_else(|| v.to_string());
            out.push((format!("flyway.{k}"), v));
        }
    }
    out
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
    fn locations_where_flyway_users_write_them() {
        let read = |name: &str, text: &str| {
            let mut aux = BTreeMap::new();
            aux.insert(format!("../{name}"), text.to_string());
            locations(&aux)
        };
        assert_eq!(
            read(
                "application.properties",
                "spring.flyway.locations=classpath:migration,filesystem:./sql/\n"
            ),
            ["migration", "sql"]
        );
        assert_eq!(
            read(
                "application.yml",
                "spring:\n  flyway:\n    locations:\n      - classpath:db/migration/common\n      - classpath:db/migration/{vendor}\n    enabled: true\n"
            ),
            ["db/migration/common"]
        );
        assert_eq!(
            read(
                "application.yaml",
                "spring:\n  flyway:\n    locations: [classpath:migration]\n"
            ),
            ["migration"]
        );
        assert_eq!(
            read("flyway.conf", "flyway.locations=filesystem:sql/ddl\n"),
            ["sql/ddl"]
        );
        assert_eq!(
            read(
                "flyway.toml",
                "[flyway]\nlocations = [\"filesystem:db\", \"s3:bucket/x\"]\n"
            ),
            ["db"]
        );
        assert_eq!(
            read(
                "pom.xml",
                "<plugin><artifactId>flyway-maven-plugin</artifactId><configuration><locations><location>filesystem:src/main/resources/releases</location></locations></configuration></plugin>"
            ),
            ["src/main/resources/releases"]
        );
        assert_eq!(
            read(
                "build.gradle",
                "flyway {\n  locations = ['classpath:migration']\n}\n"
            ),
            ["migration"]
        );
        assert!(read("application.properties", "spring.flyway.locations=${LOC}\n").is_empty());
    }

    #[test]
    fn placeholder_schemas_and_other_settings_are_not_read() {
        assert!(read("flyway.conf", "flyway.schemas=${SCHEMA}\n").is_none());
        assert!(read("flyway.conf", "flyway.placeholders.schemas=app\n").is_none());
        assert!(read("pom.xml", "<!-- <flyway.schemas>x</flyway.schemas> -->").is_none());
        assert!(read("application.yml", "other:\n  flyway:\n    schemas: app\n").is_none());
        assert!(read("flyway.conf", "flyway.schemasX=a\n").is_none());
    }

    fn values(name: &str, text: &str) -> Option<(Vec<(String, String)>, bool)> {
        let mut aux = BTreeMap::new();
        aux.insert(format!("../{name}"), text.to_string());
        placeholders(&aux).map(|p| (p.values.into_iter().collect(), p.dollar_braces))
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn placeholder_values_where_flyway_users_write_them() {
        let want = Some((pairs(&[("owner", "app"), ("table-prefix", "t_")]), true));
        assert_eq!(
            values(
                "flyway.conf",
                "flyway.url=jdbc:x\nflyway.placeholders.owner=app\nflyway.placeholders.table-prefix=t_\n"
            ),
            want
        );
        assert_eq!(
            values(
                "flyway.toml",
                "[flyway]\nlocations = [\"filesystem:sql\"]\n[flyway.placeholders]\nowner = \"app\"\ntable-prefix = \"t_\"\n"
            ),
            want
        );
        assert_eq!(
            values(
                "pom.xml",
                "<project><build><plugins><plugin><artifactId>flyway-maven-plugin</artifactId>\
                 <configuration><url>x</url><placeholders><owner>app</owner>\
                 <table-prefix>t_</table-prefix></placeholders></configuration></plugin></plugins></build></project>"
            ),
            want
        );
        assert_eq!(
            values(
                "pom.xml",
                "<properties><flyway.placeholders.owner>app</flyway.placeholders.owner>\
                 <flyway.placeholders.table-prefix>t_</flyway.placeholders.table-prefix></properties>"
            ),
            want
        );
        assert_eq!(
            values(
                "build.gradle",
                "flyway {\n    url = 'jdbc:x'\n    placeholders = [\n        'owner': 'app',\n        'table-prefix': 't_'\n    ]\n}\n"
            ),
            want
        );
        assert_eq!(
            values(
                "build.gradle.kts",
                "flyway {\n    placeholders = mapOf(\"owner\" to \"app\", \"table-prefix\" to \"t_\")\n}\n"
            ),
            want
        );
        assert_eq!(
            values(
                "application.properties",
                "spring.flyway.placeholders.owner=app\nspring.flyway.placeholders.table-prefix=${prefix:t_}\n"
            ),
            want
        );
        // A Spring property reference: the property's value in the same
        // file, else its default; without either, not read.
        assert_eq!(
            values(
                "application.yml",
                "app:\n  owner: app\nspring:\n  flyway:\n    placeholders:\n      owner: ${app.owner}\n      table-prefix: \"${app.prefix:t_}\"\n      other: ${app.none}\n    enabled: true\n"
            ),
            want
        );
        assert_eq!(values("flyway.conf", "flyway.schemas=app\n"), None);
    }

    #[test]
    fn placeholder_replacement_off_or_another_prefix() {
        assert_eq!(
            values("flyway.conf", "flyway.placeholderReplacement=false\n"),
            Some((vec![], false))
        );
        assert_eq!(
            values(
                "application.properties",
                "spring.flyway.placeholder-prefix=#(\nspring.flyway.placeholder-suffix=)\n"
            ),
            Some((vec![], false))
        );
        assert_eq!(
            values(
                "application.yml",
                "spring:\n  flyway:\n    placeholder-replacement: false\n"
            ),
            Some((vec![], false))
        );
        assert_eq!(
            values("flyway.conf", "flyway.placeholderReplacement=true\n"),
            Some((vec![], true))
        );
        assert_eq!(values("flyway.conf", "flyway.placeholderPrefix=${\n"), None);
    }
}
