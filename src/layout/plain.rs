//! `plain`: no migration tool. Every `*.sql` file is one migration, run in
//! natural order of its path (digit runs compare as numbers, so `2_x.sql`
//! runs before `10_x.sql` and `V1.9` before `V1.10`; ties are broken by
//! byte order so the order never depends on the file system). A folder of
//! one folder per migration (`20210101000000_init/migration.sql`, as Prisma
//! writes them) is read the same way: the paths sort by folder name.

use super::{whole, Folder, Plan};
use crate::model::Migration;

pub fn plan(folder: &Folder) -> Plan {
    let mut order: Vec<usize> = (0..folder.entries.len()).collect();
    order.sort_by(|&a, &b| super::natural_cmp(&folder.entries[a].rel, &folder.entries[b].rel));
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
            Migration {
                version: if digits.is_empty() { label } else { digits }.to_string(),
                name: label.to_string(),
                up: whole(folder, i),
                down: None,
                apply_only: false,
                rerun_note: None,
            }
        })
        .collect();
    Plan {
        migrations,
        ..Plan::default()
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
        plan(folder)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn natural_order() {
        let f = folder(&[("10_c.sql", ""), ("9_b.sql", ""), ("1_a.sql", "")]);
        let p = super::plan(&f);
        assert_eq!(order(&f, &p), vec!["1 1_a.sql", "9 9_b.sql", "10 10_c.sql"]);
    }
}
