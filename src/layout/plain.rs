//! `plain`: no migration tool. Every `*.sql` file is one migration, run in
//! natural order of its path (digit runs compare as numbers, so `2_x.sql`
//! runs before `10_x.sql` and `V1.9` before `V1.10`; ties are broken by
//! byte order so the order never depends on the file system). A folder of
//! one folder per migration (`20210101000000_init/migration.sql`, as Prisma
//! writes them) is read the same way: the paths sort by folder name.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::BTreeMap;

/// How a file of a plain folder is written for one dialect:
/// `x.sql.postgres` (runs besides a shared `x.sql`, as Synapse's runner
/// does) or `x.postgres.sql` (replaces a shared `x.sql` of the same stem, as
/// the small runners that name files this way do).
fn variant(base: &str) -> Option<(Dialect, bool)> {
    if let Some(d) = super::dialect_variant(base) {
        return Some((d, false));
    }
    let stem = super::strip_suffix_ci(base, ".sql")?;
    let (_, word) = stem.rsplit_once('.')?;
    Dialect::from_name(word)
        .filter(|d| *d != Dialect::Generic)
        .map(|d| (d, true))
}

/// What a word of a file name names: a dialect twice reads, or another
/// database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Names {
    Dialect(Dialect),
    Other(crate::sniff::Family),
}

fn names(word: &str) -> Option<Names> {
    match Dialect::from_name(word) {
        Some(d) if d != Dialect::Generic => Some(Names::Dialect(d)),
        _ => crate::sniff::unsupported_word(word).map(Names::Other),
    }
}

/// A file's stem split at a word naming a database, its last word (after
/// `-` or `_`, or the whole stem) or else its first (before `-`, `_` or
/// `.`): `docker-init-mysql` is (`docker-init`, `mysql`), `derby-schema`
/// is (`schema`, `derby`), `mysql.initial` is (`initial`, `mysql`),
/// `postgres` is (``, `postgres`).
fn db_word(base: &str) -> Option<(&str, &str, Names)> {
    let stem = super::strip_suffix_ci(base, ".sql")?;
    let last = match stem.rfind(['-', '_']) {
        Some(i) => (&stem[..i], &stem[i + 1..]),
        None => ("", stem),
    };
    if let Some(n) = names(last.1) {
        return Some((last.0, last.1, n));
    }
    let i = stem.find(['-', '_', '.'])?;
    let (word, rest) = (&stem[..i], &stem[i + 1..]);
    names(word).map(|n| (rest, word, n))
}

/// Files whose names differ only in a word naming a database
/// (`docker-init-mysql.sql` beside `docker-init-postgres.sql`, `mysql.sql`
/// beside `postgres.sql`, `derby-schema.sql` beside `mysql-schema.sql`,
/// Spring's `schema-h2.sql` beside `schema-mysql.sql`): the same script
/// written for each database, not one history. A name alone
/// (`grant_to_postgres.sql`, where `postgres` is a role) is no variant:
/// another file must name another database with the same rest.
struct Loose {
    /// By entry index: the dialect each variant twice reads is for.
    dialects: BTreeMap<usize, Dialect>,
    /// By entry index: variants left out, and why (written for a database
    /// twice does not read, or a second file for one dialect).
    left_out: BTreeMap<usize, String>,
}

fn loose_variants(folder: &Folder) -> Loose {
    type Group<'f> = Vec<(usize, &'f str, Names)>;
    let mut by_rest: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if variant(e.base()).is_some() {
            continue;
        }
        if let Some((rest, word, n)) = db_word(e.base()) {
            by_rest
                .entry((e.dir().to_string(), rest.to_ascii_lowercase()))
                .or_default()
                .push((i, word, n));
        }
    }
    let mut out = Loose {
        dialects: BTreeMap::new(),
        left_out: BTreeMap::new(),
    };
    for ((dir, rest), files) in by_rest {
        let first = files[0].2;
        // One database named: a variant only beside the shared file it
        // replaces (`ddl-postgresql.sql` beside `ddl.sql`). Spring Boot runs
        // `schema.sql` and `schema-<platform>.sql` both: no replacing there.
        let shared = || {
            !rest.is_empty()
                && !matches!(rest.as_str(), "schema" | "data")
                && matches!(first, Names::Dialect(_))
                && folder.entries.iter().any(|e| {
                    e.dir() == dir
                        && super::strip_suffix_ci(e.base(), ".sql")
                            .is_some_and(|stem| stem.eq_ignore_ascii_case(&rest))
                })
        };
        if files.iter().all(|(_, _, n)| *n == first) && !shared() {
            continue;
        }
        for &(i, word, n) in &files {
            match n {
                Names::Other(family) => {
                    out.left_out.insert(
                        i,
                        format!(
                            "written for {} (its name), which twice does not read",
                            family.title()
                        ),
                    );
                }
                Names::Dialect(d) => {
                    // Several files for one dialect (`schema-mysql.sql`,
                    // `schema-mariadb.sql`): the one named as the dialect
                    // is read, else the first.
                    let same: Vec<&(usize, &str, Names)> =
                        files.iter().filter(|f| f.2 == n).collect();
                    let chosen = same
                        .iter()
                        .find(|f| f.1.eq_ignore_ascii_case(d.name()))
                        .unwrap_or(&same[0]);
                    if chosen.0 == i {
                        out.dialects.insert(i, d);
                    } else {
                        out.left_out.insert(
                            i,
                            format!(
                                "written for {word}, an alternative to {} for {d}",
                                folder.entries[chosen.0].base()
                            ),
                        );
                    }
                }
            }
        }
    }
    out
}

/// The dialect entry `i` is written for, and whether it replaces a shared
/// file of the same stem (see [`variant`] and [`loose_variants`]).
fn variant_of(folder: &Folder, loose: &Loose, i: usize) -> Option<(Dialect, bool)> {
    variant(folder.entries[i].base()).or_else(|| loose.dialects.get(&i).map(|d| (*d, true)))
}

/// The dialects the folder's files name (see [`variant`] and
/// [`loose_variants`]).
pub fn variant_dialects(folder: &Folder) -> Vec<Dialect> {
    let loose = loose_variants(folder);
    let set: std::collections::BTreeSet<&'static str> = (0..folder.entries.len())
        .filter_map(|i| variant_of(folder, &loose, i).map(|(d, _)| d.name()))
        .collect();
    set.into_iter().filter_map(Dialect::from_name).collect()
}

pub fn plan(folder: &Folder) -> Plan {
    plan_variants(folder, true)
}

/// The shared file (named for no database) the variant `i` replaces:
/// `x.sql` for `x.postgres.sql` and for `x-postgres.sql`.
fn replaced_by(folder: &Folder, loose: &Loose, i: usize) -> Option<usize> {
    let e = &folder.entries[i];
    let stem = super::strip_suffix_ci(e.base(), ".sql").unwrap_or("");
    let shared = match loose.dialects.get(&i) {
        Some(_) => db_word(e.base()).map_or("", |(rest, _, _)| rest),
        None => stem.rsplit_once('.').map_or(stem, |(s, _)| s),
    };
    if shared.is_empty() {
        return None;
    }
    let generic = format!("{}{shared}.sql", &e.rel[..e.rel.len() - e.base().len()]);
    folder.entries.iter().position(|g| g.rel == generic)
}

/// The dialect of the shared files (named for no database) when files
/// named for a database replace some of them (`ddl.postgresql.sql` or
/// `ddl-postgresql.sql` beside `ddl.sql`): the shared files are what the
/// other databases run, and their SQL says which (`ddl.sql` of MySQL). `None`
/// when their SQL names none clearly, or names one the file names give.
pub fn shared_dialect(folder: &Folder) -> Option<(Dialect, String)> {
    let loose = loose_variants(folder);
    let variants: Vec<(usize, Dialect, bool)> = (0..folder.entries.len())
        .filter_map(|i| variant_of(folder, &loose, i).map(|(d, r)| (i, d, r)))
        .collect();
    if !variants.iter().any(|(_, _, replaces)| *replaces) {
        return None;
    }
    let shared: Vec<&super::Entry> = folder
        .entries
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            !variants.iter().any(|(v, _, _)| v == i) && !loose.left_out.contains_key(i)
        })
        .map(|(_, e)| e)
        .collect();
    let (d, signs) = crate::sniff::sniff_dialect(
        shared
            .iter()
            .filter(|e| !e.file.binary)
            .map(|e| &*e.file.text),
    )?;
    if variants.iter().any(|(_, v, _)| *v == d) {
        return None;
    }
    let names = crate::words::first_of(shared.iter().map(|e| e.base()), shared.len(), 2);
    Some((
        d,
        format!(
            "the files named for no database ({names}), which the other databases run: their SQL \
             uses {signs}"
        ),
    ))
}

/// `plain`'s plan; `pick` chooses among files written for one dialect
/// (a single script is read whatever its name says).
fn plan_variants(folder: &Folder, pick: bool) -> Plan {
    let pick = pick && !folder.variants.is_empty();
    // Files written for another dialect, and shared files a file of this
    // dialect replaces (`x.sql` when `x.postgres.sql` is there).
    let mut left_out: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut replaced: std::collections::BTreeSet<usize> = Default::default();
    let loose = if pick {
        loose_variants(folder)
    } else {
        Loose {
            dialects: BTreeMap::new(),
            left_out: BTreeMap::new(),
        }
    };
    // (shared file, its replacement, the replacement's dialect)
    let replacements: Vec<(usize, usize, Dialect)> = (0..folder.entries.len())
        .filter(|_| pick)
        .filter_map(|i| {
            let (d, true) = variant_of(folder, &loose, i)? else {
                return None;
            };
            replaced_by(folder, &loose, i).map(|g| (g, i, d))
        })
        .collect();
    let mut skipped: Vec<(usize, String)> = Vec::new();
    let replaced_for: std::collections::BTreeSet<(usize, &str)> = replacements
        .iter()
        .map(|&(g, _, d)| (g, d.name()))
        .collect();
    for &(g, i, d) in &replacements {
        if d == folder.dialect {
            replaced.insert(g);
            // Read by no sequence: every dialect planned has its own
            // replacement of it.
            let everywhere = folder
                .variants
                .iter()
                .all(|v| replaced_for.contains(&(g, v.name())));
            if everywhere || !folder.split {
                skipped.push((
                    g,
                    format!("{} replaces it for {d}", folder.entries[i].base()),
                ));
            }
        }
    }
    let mut order: Vec<usize> = (0..folder.entries.len())
        .filter(|&i| {
            if let Some(why) = loose.left_out.get(&i) {
                skipped.push((i, why.clone()));
                return false;
            }
            true
        })
        .filter(|&i| match variant_of(folder, &loose, i).filter(|_| pick) {
            Some((d, _)) if d != folder.dialect => {
                *left_out.entry(d.name()).or_default() += 1;
                false
            }
            _ => !replaced.contains(&i),
        })
        .collect();
    order.sort_by(|&a, &b| super::natural_cmp(&folder.entries[a].rel, &folder.entries[b].rel));
    // Spring Boot's SQL initialization (`schema.sql`, then `data.sql`; also
    // `schema-<platform>.sql`, `data-<platform>.sql`): the schema before the
    // data, as Spring runs them, not in name order.
    let init = |i: usize| init_script(folder.entries[i].base());
    if order.iter().any(|&i| init(i) == Some(0)) && order.iter().any(|&i| init(i) == Some(2)) {
        order.sort_by_key(|&i| init(i).unwrap_or(1));
    }
    let migrations = order
        .into_iter()
        .map(|i| {
            let e = &folder.entries[i];
            let base = e.base();
            let stem = super::strip_suffix_ci(base, ".sql").unwrap_or(base);
            // `<folder>/migration.sql`: the folder names the migration.
            let label = if stem == "migration" && !e.dir().is_empty() {
                e.dir().rsplit('/').next().unwrap_or(stem)
            } else {
                stem
            };
            let digits = super::leading_digits(label);
            Migration::new(
                if digits.is_empty() { label } else { digits }.to_string(),
                label.to_string(),
                whole(folder, i),
                None,
            )
        })
        .collect();
    let mut notices = Vec::new();
    for (d, n) in left_out {
        if !folder.split {
            notices.push(format!(
                "{}: {n} file{} written for {d} not read: this sequence is {} (pass --dialect {d} \
                 to check {})",
                folder.display,
                if n == 1 { "" } else { "s" },
                folder.dialect,
                if n == 1 { "it" } else { "them" }
            ));
        }
    }
    Plan {
        migrations,
        notices,
        skipped,
        ..Plan::default()
    }
}

/// Where a Spring Boot SQL initialization script runs: `schema.sql` or
/// `schema-<platform>.sql` first (0), `data.sql` or `data-<platform>.sql`
/// last (2); `None` for other names.
fn init_script(base: &str) -> Option<u8> {
    let stem = super::strip_suffix_ci(base, ".sql")?.to_ascii_lowercase();
    let rank = |word: &str| {
        stem == word
            || stem
                .strip_prefix(word)
                .is_some_and(|rest| rest.starts_with(['-', '_']))
    };
    if rank("schema") {
        Some(0)
    } else if rank("data") {
        Some(2)
    } else {
        None
    }
}

/// No migration tool: every `.sql` file is a migration.
pub struct Plain;

impl super::Layout for Plain {
    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Plain
    }

    fn detect(&self, _folder: &Folder) -> Option<String> {
        Some("no migration tool's marks: every .sql file, in natural order".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn migration_dir_file(&self) -> Option<&'static str> {
        Some("migration.sql")
    }

    fn variant_dialects(&self, folder: &Folder) -> Vec<Dialect> {
        variant_dialects(folder)
    }

    fn shared_dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        shared_dialect(folder)
    }
}

/// A single script read from stdin or named directly: read like `plain`,
/// never detected.
pub struct Script;

impl super::Layout for Script {
    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Script
    }

    fn detect(&self, _folder: &Folder) -> Option<String> {
        None
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan_variants(folder, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::dialect::Dialect;

    #[test]
    fn files_for_one_dialect() {
        let mut f = folder(&[
            ("1_init.sql", ""),
            ("1_init.postgres.sql", ""),
            ("1_init.sqlite.sql", ""),
            ("2_fts.sql.sqlite", ""),
            ("2_fts.sql", ""),
            ("3_more.sql", ""),
        ]);
        assert_eq!(
            super::variant_dialects(&f),
            vec![Dialect::Postgres, Dialect::Sqlite]
        );
        f.dialect = Dialect::Sqlite;
        f.variants = vec![Dialect::Postgres, Dialect::Sqlite];
        f.split = true;
        let p = super::plan(&f);
        // `x.sqlite.sql` replaces `x.sql`; `x.sql.sqlite` runs after it.
        assert_eq!(
            order(&f, &p),
            vec![
                "1 1_init.sqlite.sql",
                "2 2_fts.sql",
                "2 2_fts.sql.sqlite",
                "3 3_more.sql"
            ]
        );
        assert!(p.notices.is_empty());
        f.split = false;
        f.dialect = Dialect::Postgres;
        let p = super::plan(&f);
        assert_eq!(order(&f, &p).len(), 3);
        assert_eq!(p.notices.len(), 1, "{:?}", p.notices);
        assert!(p.notices[0].contains("2 files written for sqlite not read"));
    }

    #[test]
    fn files_differing_in_a_last_word_naming_a_dialect() {
        let mut f = folder(&[
            ("docker-init-mysql.sql", ""),
            ("docker-init-postgres.sql", ""),
            ("docker-init.sql", ""),
            ("grant_to_postgres.sql", ""),
            ("schema/mysql.sql", ""),
            ("schema/sqlite.sql", ""),
        ]);
        assert_eq!(
            super::variant_dialects(&f),
            vec![Dialect::Mysql, Dialect::Postgres, Dialect::Sqlite]
        );
        f.dialect = Dialect::Postgres;
        f.variants = super::variant_dialects(&f);
        f.split = true;
        let p = super::plan(&f);
        // `docker-init-postgres.sql` replaces `docker-init.sql`; a name
        // alone (`grant_to_postgres`) is shared.
        assert_eq!(
            order(&f, &p),
            vec![
                "docker-init-postgres docker-init-postgres.sql",
                "grant_to_postgres grant_to_postgres.sql"
            ]
        );
        // One dialect named, however often: no variants.
        let f = folder(&[
            ("1_grant_to_postgres.sql", ""),
            ("2_demote_postgres.sql", ""),
        ]);
        assert!(super::variant_dialects(&f).is_empty());
    }

    #[test]
    fn spring_schema_before_data() {
        let f = folder(&[("data.sql", ""), ("schema.sql", ""), ("import.sql", "")]);
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["schema schema.sql", "import import.sql", "data data.sql"]
        );
        // Without a schema script, name order.
        let f = folder(&[("data.sql", ""), ("b.sql", "")]);
        assert_eq!(
            order(&f, &super::plan(&f)),
            vec!["b b.sql", "data data.sql"]
        );
    }

    #[test]
    fn natural_order() {
        let f = folder(&[("10_c.sql", ""), ("9_b.sql", ""), ("1_a.sql", "")]);
        let p = super::plan(&f);
        assert_eq!(order(&f, &p), vec!["1 1_a.sql", "9 9_b.sql", "10 10_c.sql"]);
    }

    /// Leading zeros do not make a number smaller: `00010` is ten, after
    /// `0002` (supabase/storage's `00010-search-files-search-function.sql`
    /// between `0009-` and `0011-`).
    #[test]
    fn natural_order_reads_leading_zeros_as_numbers() {
        let f = folder(&[
            ("0011-k.sql", ""),
            ("00010-j.sql", ""),
            ("0002-b.sql", ""),
            ("0001-a.sql", ""),
            ("0009-i.sql", ""),
        ]);
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "0001 0001-a.sql",
                "0002 0002-b.sql",
                "0009 0009-i.sql",
                "00010 00010-j.sql",
                "0011 0011-k.sql"
            ]
        );
        assert_eq!(
            super::super::natural_cmp("V1.9__a.sql", "v1.10__a.sql"),
            std::cmp::Ordering::Less
        );
        assert_eq!(
            super::super::natural_cmp("Ab2.sql", "aB10.sql"),
            std::cmp::Ordering::Less
        );
    }
}
