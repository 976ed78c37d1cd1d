//! The facts the classifier finds: [`Kind`] and the structs it holds.

use super::*;

/// What the token-level classifier makes of one statement.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// First keyword, upper-cased (the first token's text when it is not a word).
    pub keyword: String,
    pub kind: Kind,
}

impl Facts {
    /// The classifier could say what the statement is.
    pub fn understood(&self) -> bool {
        !matches!(self.kind, Kind::Unknown)
    }
}

/// The statement kinds the rules care about.
#[derive(Debug, Clone, Default)]
pub enum Kind {
    /// Nothing could be said about the statement.
    #[default]
    Unknown,
    Create(Box<Create>),
    Drop(Box<Drop>),
    AlterTable(Box<AlterTable>),
    /// `ALTER INDEX/VIEW/SEQUENCE/TYPE/...`.
    AlterObject(Box<AlterObject>),
    /// MySQL `RENAME TABLE a TO b, c TO d`.
    RenameTables(Vec<RenamePair>),
    Insert(Box<Insert>),
    Update(Box<Update>),
    Delete(Box<Delete>),
    Truncate(Vec<Name>),
    Transaction(Transaction),
    Pragma(Box<Pragma>),
    Set(Set),
    /// A Postgres `DO` block.
    Do(Box<DoBlock>),
    /// `SELECT`, `VALUES`, `SHOW`, `EXPLAIN`, ...
    Query,
    /// A statement the classifier knows and the rules ignore (`GRANT`,
    /// `COMMENT ON`, `ANALYZE`, `CALL`, ...).
    Other,
}

/// A possibly schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Normalised parts: unquoted and case-folded as the dialect does, for
    /// comparing names.
    pub parts: Vec<String>,
    /// The parts as the database shows them in its messages and catalogs:
    /// unquoted, folded to lower case only where the dialect stores them so
    /// (Postgres); SQLite and MySQL keep the case as written.
    pub shown: Vec<String>,
    /// Where the name is written in the file.
    pub span: Range<usize>,
}

impl Name {
    /// The object's own name (the last part).
    pub fn object(&self) -> &str {
        self.parts.last().map_or("", String::as_str)
    }

    /// The object's own name as the database shows it (see [`Name::shown`]),
    /// for messages and the SQL of guards.
    pub fn shown(&self) -> &str {
        self.shown.last().map_or("", String::as_str)
    }

    /// The schema (or table, for `t.col`), when qualified.
    pub fn qualifier(&self) -> Option<&str> {
        let n = self.parts.len();
        (n > 1).then(|| self.parts[n - 2].as_str())
    }

    /// The schema (or table) as the database shows it, when qualified.
    pub fn shown_qualifier(&self) -> Option<&str> {
        let n = self.shown.len();
        (n > 1).then(|| self.shown[n - 2].as_str())
    }

    /// Same object: same name, and same schema when both are qualified.
    pub fn same_object(&self, other: &Name) -> bool {
        self.object() == other.object()
            && match (self.qualifier(), other.qualifier()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    /// The name as written in the file.
    pub fn text<'a>(&self, file_text: &'a str) -> &'a str {
        file_text.get(self.span.clone()).unwrap_or("")
    }
}

/// Kinds of schema objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Table,
    VirtualTable,
    ForeignTable,
    Index,
    View,
    MaterializedView,
    Trigger,
    ConstraintTrigger,
    EventTrigger,
    Schema,
    Database,
    Sequence,
    Extension,
    Type,
    Domain,
    Role,
    User,
    Group,
    Function,
    Procedure,
    Aggregate,
    Policy,
    Rule,
    Event,
    Collation,
    Server,
    Statistics,
    Tablespace,
    Publication,
    Subscription,
    Cast,
    Operator,
    Conversion,
    Language,
    TextSearch,
    ForeignDataWrapper,
    UserMapping,
    AccessMethod,
    Transform,
}

impl ObjectKind {
    /// How the kind is written in SQL.
    pub fn sql(self) -> &'static str {
        use ObjectKind::*;
        match self {
            Table => "TABLE",
            VirtualTable => "VIRTUAL TABLE",
            ForeignTable => "FOREIGN TABLE",
            Index => "INDEX",
            View => "VIEW",
            MaterializedView => "MATERIALIZED VIEW",
            Trigger => "TRIGGER",
            ConstraintTrigger => "CONSTRAINT TRIGGER",
            EventTrigger => "EVENT TRIGGER",
            Schema => "SCHEMA",
            Database => "DATABASE",
            Sequence => "SEQUENCE",
            Extension => "EXTENSION",
            Type => "TYPE",
            Domain => "DOMAIN",
            Role => "ROLE",
            User => "USER",
            Group => "GROUP",
            Function => "FUNCTION",
            Procedure => "PROCEDURE",
            Aggregate => "AGGREGATE",
            Policy => "POLICY",
            Rule => "RULE",
            Event => "EVENT",
            Collation => "COLLATION",
            Server => "SERVER",
            Statistics => "STATISTICS",
            Tablespace => "TABLESPACE",
            Publication => "PUBLICATION",
            Subscription => "SUBSCRIPTION",
            Cast => "CAST",
            Operator => "OPERATOR",
            Conversion => "CONVERSION",
            Language => "LANGUAGE",
            TextSearch => "TEXT SEARCH",
            ForeignDataWrapper => "FOREIGN DATA WRAPPER",
            UserMapping => "USER MAPPING",
            AccessMethod => "ACCESS METHOD",
            Transform => "TRANSFORM",
        }
    }

    /// The kind in lower case, for messages ("materialized view").
    pub fn noun(self) -> String {
        self.sql().to_ascii_lowercase()
    }

    /// Tables in the wide sense: they hold rows and columns.
    pub fn is_table(self) -> bool {
        matches!(
            self,
            ObjectKind::Table | ObjectKind::VirtualTable | ObjectKind::ForeignTable
        )
    }
}

/// `CREATE ...`.
#[derive(Debug, Clone)]
pub struct Create {
    pub kind: ObjectKind,
    pub or_replace: bool,
    /// `TEMP`/`TEMPORARY` (or a `temp.` schema in SQLite).
    pub temporary: bool,
    pub unique: bool,
    pub concurrently: bool,
    pub if_not_exists: bool,
    /// `None` for Postgres' unnamed `CREATE INDEX ON t (...)` and the like.
    pub name: Option<Name>,
    /// The table an index, trigger, policy or rule belongs to.
    pub table: Option<Name>,
    /// Span of the `CREATE` keyword.
    pub create_span: Range<usize>,
    /// Span of the object keyword (`VIEW` of `MATERIALIZED VIEW`).
    pub keyword_span: Range<usize>,
    /// Where ` IF NOT EXISTS` goes: the end of the object keyword, or of
    /// `CONCURRENTLY` when that follows it.
    pub if_not_exists_at: usize,
    /// Token index of the object keyword (or `CONCURRENTLY`), for help texts.
    pub keyword_token: usize,
    /// Token index just past the name (or past the keyword when unnamed).
    pub head_end: usize,
}

/// `DROP ...`.
#[derive(Debug, Clone)]
pub struct Drop {
    pub kind: ObjectKind,
    pub if_exists: bool,
    pub temporary: bool,
    pub concurrently: bool,
    pub names: Vec<Name>,
    /// `DROP INDEX x ON t` (MySQL), `DROP TRIGGER x ON t` (Postgres).
    pub table: Option<Name>,
    pub drop_span: Range<usize>,
    pub keyword_span: Range<usize>,
    /// Where ` IF EXISTS` goes.
    pub if_exists_at: usize,
    pub keyword_token: usize,
    /// Token index just past the last name.
    pub head_end: usize,
    /// `IF EXISTS` written after the names (`DROP TABLE t IF EXISTS`), which
    /// no database accepts: where it is.
    pub if_exists_after: Option<Range<usize>>,
}

/// `ALTER TABLE ... action, action, ...`.
#[derive(Debug, Clone)]
pub struct AlterTable {
    pub table: Option<Name>,
    pub if_exists: bool,
    pub only: bool,
    pub actions: Vec<AlterAction>,
    /// Span of `ALTER ... TABLE [IF EXISTS] [ONLY] name`.
    pub head_span: Range<usize>,
}

/// One comma-separated action of an `ALTER TABLE`.
#[derive(Debug, Clone)]
pub struct AlterAction {
    pub op: AlterOp,
    /// The action's text in the file.
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum AlterOp {
    /// `ADD [COLUMN] [IF NOT EXISTS] name ...`; `insert_at` is where
    /// ` IF NOT EXISTS` goes (after `COLUMN`, or after `ADD`).
    AddColumn {
        name: Name,
        if_not_exists: bool,
        insert_at: usize,
    },
    /// `DROP [COLUMN] [IF EXISTS] name`.
    DropColumn {
        name: Name,
        if_exists: bool,
        insert_at: usize,
    },
    /// `ADD CONSTRAINT name ...`, or an unnamed `ADD PRIMARY KEY/UNIQUE/
    /// FOREIGN KEY/CHECK/EXCLUDE`, or MySQL `ADD INDEX/KEY`.
    AddConstraint {
        name: Option<Name>,
        constraint: ConstraintKind,
        if_not_exists: bool,
    },
    /// `DROP CONSTRAINT [IF EXISTS] name`, MySQL `DROP INDEX/KEY/FOREIGN
    /// KEY/CHECK name`, `DROP PRIMARY KEY`.
    DropConstraint {
        name: Option<Name>,
        constraint: ConstraintKind,
        if_exists: bool,
        insert_at: usize,
    },
    /// `RENAME [TO|AS] new`.
    RenameTo {
        new: Name,
    },
    /// `RENAME [COLUMN] a TO b`.
    RenameColumn {
        from: Name,
        to: Name,
    },
    /// `RENAME CONSTRAINT a TO b`.
    RenameConstraint {
        from: Name,
        to: Name,
    },
    /// MySQL `RENAME INDEX|KEY a TO b`.
    RenameIndex {
        from: Name,
        to: Name,
    },
    /// MySQL `CHANGE [COLUMN] old new definition`.
    ChangeColumn {
        from: Name,
        to: Name,
    },
    /// `SET SCHEMA s`: moves the table.
    SetSchema {
        schema: Name,
    },
    /// `ALTER [COLUMN] c ...`, MySQL `MODIFY`: sets, idempotent.
    AlterColumn {
        name: Option<Name>,
    },
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `CONSTRAINT x` of a kind the classifier did not recognise.
    Unspecified,
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclude,
    /// MySQL `INDEX`/`KEY`/`FULLTEXT`/`SPATIAL`.
    Index,
}

impl ConstraintKind {
    pub fn sql(self) -> &'static str {
        match self {
            ConstraintKind::Unspecified => "CONSTRAINT",
            ConstraintKind::PrimaryKey => "PRIMARY KEY",
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
            ConstraintKind::Check => "CHECK",
            ConstraintKind::Exclude => "EXCLUDE",
            ConstraintKind::Index => "INDEX",
        }
    }
}

/// `ALTER <kind> [IF EXISTS] name action` for kinds other than TABLE.
#[derive(Debug, Clone)]
pub struct AlterObject {
    pub kind: ObjectKind,
    pub if_exists: bool,
    pub name: Option<Name>,
    /// `ALTER TRIGGER x ON t`, `ALTER POLICY x ON t`.
    pub table: Option<Name>,
    pub op: AlterObjectOp,
}

#[derive(Debug, Clone)]
pub enum AlterObjectOp {
    RenameTo {
        new: Name,
    },
    /// `ALTER TYPE t RENAME VALUE 'a' TO 'b'` / `RENAME ATTRIBUTE a TO b`.
    RenameMember {
        member: &'static str,
        from: String,
        to: String,
    },
    SetSchema,
    /// `ALTER TYPE t ADD VALUE [IF NOT EXISTS] 'x'`; `insert_at` is the end
    /// of `VALUE`.
    AddValue {
        value: String,
        if_not_exists: bool,
        insert_at: usize,
    },
    Other,
}

/// MySQL `RENAME TABLE a TO b`.
#[derive(Debug, Clone)]
pub struct RenamePair {
    pub from: Name,
    pub to: Name,
}

/// How an INSERT deals with rows that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    None,
    /// SQLite `INSERT OR ABORT|FAIL|ROLLBACK`: no guard.
    OrAbort,
    /// SQLite `INSERT OR IGNORE`.
    OrIgnore,
    /// SQLite `INSERT OR REPLACE`.
    OrReplace,
    /// `REPLACE INTO` (MySQL, SQLite).
    ReplaceInto,
    /// MySQL `INSERT IGNORE`.
    InsertIgnore,
    /// `ON CONFLICT ... DO NOTHING`.
    DoNothing,
    /// `ON CONFLICT ... DO UPDATE SET ...`.
    DoUpdate,
    /// MySQL `ON DUPLICATE KEY UPDATE ...`.
    DuplicateKeyUpdate,
}

impl Conflict {
    /// A second run writes nothing new.
    pub fn skips_existing(self) -> bool {
        matches!(
            self,
            Conflict::OrIgnore | Conflict::InsertIgnore | Conflict::DoNothing
        )
    }

    /// A second run overwrites the existing row with the new values.
    pub fn replaces(self) -> bool {
        matches!(self, Conflict::OrReplace | Conflict::ReplaceInto)
    }

    /// A second run runs the update assignments on the existing row.
    pub fn updates(self) -> bool {
        matches!(self, Conflict::DoUpdate | Conflict::DuplicateKeyUpdate)
    }

    /// Any clause that deals with existing rows.
    pub fn is_guard(self) -> bool {
        !matches!(self, Conflict::None | Conflict::OrAbort)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertSource {
    Values,
    Select,
    DefaultValues,
    /// MySQL `INSERT ... SET a = 1`.
    Set,
    Unknown,
}

/// One `col = value` assignment (UPDATE SET, DO UPDATE SET, ON DUPLICATE KEY
/// UPDATE, MySQL INSERT SET).
#[derive(Debug, Clone)]
pub struct Assign {
    /// Assigned columns, normalised, without qualifier (several for `(a, b) = ...`).
    pub columns: Vec<String>,
    /// `t` of `t.col = ...`.
    pub qualifier: Option<String>,
    /// Token indexes of the whole assignment.
    pub range: Range<usize>,
    /// Token indexes of the value.
    pub value: Range<usize>,
}

/// `INSERT`/`REPLACE`.
#[derive(Debug, Clone)]
pub struct Insert {
    pub table: Option<Name>,
    /// `INSERT INTO t AS alias` (Postgres).
    pub alias: Option<String>,
    pub conflict: Conflict,
    /// `WHERE NOT EXISTS (...)`, `NOT IN (SELECT ...)`, `EXCEPT`, or
    /// `LEFT JOIN ... IS NULL` in the source query.
    pub anti_join: bool,
    pub source: InsertSource,
    /// The column list, normalised.
    pub columns: Vec<String>,
    /// Token ranges of the expressions of the first VALUES row.
    pub first_row: Vec<Range<usize>>,
    /// Token ranges whose values get written: VALUES lists, SELECT
    /// projections, MySQL `SET` values.
    pub written: Vec<Range<usize>>,
    /// The DO UPDATE / ON DUPLICATE KEY UPDATE assignments.
    pub update: Vec<Assign>,
    /// `DO UPDATE ... WHERE` condition.
    pub update_where: Option<Range<usize>>,
    /// MySQL 8 row alias: `VALUES (...) AS new`.
    pub row_alias: Option<String>,
    /// Token index of INSERT/REPLACE.
    pub start: usize,
}

/// `UPDATE`.
#[derive(Debug, Clone)]
pub struct Update {
    pub table: Option<Name>,
    pub alias: Option<String>,
    pub assignments: Vec<Assign>,
    /// Token range of the WHERE condition.
    pub where_range: Option<Range<usize>>,
    /// Token index of UPDATE.
    pub start: usize,
}

/// `DELETE`.
#[derive(Debug, Clone)]
pub struct Delete {
    pub table: Option<Name>,
    pub has_where: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    Begin,
    Commit,
    Rollback,
    /// `ROLLBACK TO [SAVEPOINT] x`.
    RollbackTo,
    Savepoint,
    Release,
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, ...
    Other,
}

/// `PRAGMA [schema.]name [= value | (value)]`.
#[derive(Debug, Clone)]
pub struct Pragma {
    /// Lower case, without schema.
    pub name: String,
    pub value: Option<String>,
}

/// `SET [SESSION|LOCAL|GLOBAL] name ...`.
#[derive(Debug, Clone)]
pub struct Set {
    /// Lower case; empty when unknown.
    pub name: String,
}

/// A Postgres `DO` block and the statements found in its body.
#[derive(Debug, Clone)]
pub struct DoBlock {
    /// `LANGUAGE x`, lower case.
    pub language: Option<String>,
    /// The body's text in the file (inside the quotes).
    pub body: Range<usize>,
    /// Significant tokens of the body (file offsets).
    pub tokens: Vec<Token>,
    /// The SQL statements of the body, in order.
    pub inner: Vec<Inner>,
}

/// A SQL statement inside a DO block.
#[derive(Debug, Clone)]
pub struct Inner {
    /// From its first token to its last (without `;`), in the file.
    pub span: Range<usize>,
    /// Indexes into [`DoBlock::tokens`].
    pub tokens: Range<usize>,
    pub kind: Kind,
    /// Under an existence check (`IF NOT EXISTS (SELECT ... FROM pg_...)`)
    /// or in a block with an exception handler that catches the second
    /// run's failure.
    pub guarded: bool,
}
