//! Token-level classification of statements.
//!
//! sqlparser rejects a good deal of valid SQL (`CREATE TRIGGER IF NOT EXISTS`,
//! `PRAGMA x = ON`, Postgres `DO $$ ... $$`, fts5 options, many MySQL and
//! Postgres forms). The classifier reads a statement's significant tokens
//! instead, so the facts the rules need — what is created, dropped, altered
//! or written, with which guards, and where each piece is written in the file
//! — exist whether or not sqlparser parsed the statement.
//!
//! It never fails: what it does not recognise is [`Kind::Unknown`] (nothing
//! could be said) or [`Kind::Other`] (a statement it knows has nothing to do
//! with the rules, such as `GRANT` or `COMMENT ON`).
//!
//! Token indexes in the facts (`Range<usize>` fields named `value`, `range`,
//! `tokens`, ...) index the token slice the statement was classified from;
//! byte spans (`span`, `*_at`) are offsets into the file text.

use crate::dialect::Dialect;
use crate::lexer::{significant_tokens, Token, TokenKind};
use crate::source::SourceFile;
use std::ops::Range;

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
    Create(Create),
    Drop(Drop),
    AlterTable(AlterTable),
    /// `ALTER INDEX/VIEW/SEQUENCE/TYPE/...`.
    AlterObject(AlterObject),
    /// MySQL `RENAME TABLE a TO b, c TO d`.
    RenameTables(Vec<RenamePair>),
    Insert(Box<Insert>),
    Update(Box<Update>),
    Delete(Delete),
    Truncate(Vec<Name>),
    Transaction(Transaction),
    Pragma(Pragma),
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
    /// Normalised parts: unquoted and case-folded as the dialect does.
    pub parts: Vec<String>,
    /// Where the name is written in the file.
    pub span: Range<usize>,
}

impl Name {
    /// The object's own name (the last part).
    pub fn object(&self) -> &str {
        self.parts.last().map_or("", String::as_str)
    }

    /// The schema (or table, for `t.col`), when qualified.
    pub fn qualifier(&self) -> Option<&str> {
        let n = self.parts.len();
        (n > 1).then(|| self.parts[n - 2].as_str())
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

/// Classifies one statement. `tokens` are its significant tokens.
pub fn classify(file: &SourceFile, tokens: &[Token], dialect: Dialect) -> Facts {
    let keyword = tokens
        .first()
        .map(|t| file.text[t.span.clone()].to_ascii_uppercase())
        .unwrap_or_default();
    Facts {
        keyword,
        kind: classify_tokens(&file.text, tokens, dialect),
    }
}

/// Classifies the statement made of `toks` (significant tokens of `text`).
pub fn classify_tokens(text: &str, toks: &[Token], dialect: Dialect) -> Kind {
    let t = Toks {
        text,
        toks,
        dialect,
    };
    t.statement(0)
}

/// Significant tokens with the text they index, and the helpers the
/// classifier reads them with.
#[derive(Clone, Copy)]
pub struct Toks<'a> {
    pub text: &'a str,
    pub toks: &'a [Token],
    pub dialect: Dialect,
}

/// Words that can never be a table alias.
const NOT_ALIAS: &[&str] = &[
    "SET",
    "WHERE",
    "FROM",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "STRAIGHT_JOIN",
    "ON",
    "USING",
    "VALUES",
    "VALUE",
    "SELECT",
    "DEFAULT",
    "RETURNING",
    "ORDER",
    "LIMIT",
    "OUTPUT",
    "WITH",
    "OVERRIDING",
    "PARTITION",
    "USE",
    "FORCE",
    "IGNORE",
    "TABLE",
];

impl<'a> Toks<'a> {
    pub fn len(&self) -> usize {
        self.toks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.toks.is_empty()
    }

    pub fn kind(&self, i: usize) -> Option<TokenKind> {
        self.toks.get(i).map(|t| t.kind)
    }

    /// The text of token `i` (empty past the end).
    pub fn text(&self, i: usize) -> &'a str {
        self.toks
            .get(i)
            .and_then(|t| self.text.get(t.span.clone()))
            .unwrap_or("")
    }

    pub fn span(&self, i: usize) -> Range<usize> {
        self.toks
            .get(i)
            .map_or(self.end_offset()..self.end_offset(), |t| t.span.clone())
    }

    fn end_offset(&self) -> usize {
        self.toks.last().map_or(0, |t| t.span.end)
    }

    /// File span of tokens `range` (first start to last end).
    pub fn span_of(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || range.start >= self.toks.len() {
            let p = self.span(range.start).start;
            return p..p;
        }
        let end = range.end.min(self.toks.len());
        self.toks[range.start].span.start..self.toks[end - 1].span.end
    }

    /// The text of a word token.
    pub fn word(&self, i: usize) -> Option<&'a str> {
        (self.kind(i)? == TokenKind::Word).then(|| self.text(i))
    }

    /// Token `i` is the keyword `k` (given in upper case).
    pub fn kw(&self, i: usize, k: &str) -> bool {
        self.word(i).is_some_and(|w| w.eq_ignore_ascii_case(k))
    }

    /// Token `i` is one of the keywords `ks`.
    pub fn kw_any(&self, i: usize, ks: &[&str]) -> bool {
        self.word(i)
            .is_some_and(|w| ks.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// Tokens from `i` are the keywords `ks`.
    pub fn kws(&self, i: usize, ks: &[&str]) -> bool {
        ks.iter().enumerate().all(|(j, k)| self.kw(i + j, k))
    }

    pub fn punct(&self, i: usize, p: &str) -> bool {
        self.kind(i) == Some(TokenKind::Punct) && self.text(i) == p
    }

    /// `IF NOT EXISTS` at `i`: returns the index after it.
    fn if_not_exists(&self, i: usize) -> Option<usize> {
        self.kws(i, &["IF", "NOT", "EXISTS"]).then_some(i + 3)
    }

    /// `IF EXISTS` at `i`.
    fn if_exists(&self, i: usize) -> Option<usize> {
        self.kws(i, &["IF", "EXISTS"]).then_some(i + 2)
    }

    /// Token `i` can be an identifier.
    pub fn is_ident(&self, i: usize) -> bool {
        matches!(
            self.kind(i),
            Some(TokenKind::Word) | Some(TokenKind::QuotedIdent)
        ) || (self.dialect == Dialect::Mysql && self.kind(i) == Some(TokenKind::String))
    }

    /// The normalised identifier at `i`: quotes removed, case folded as the
    /// dialect does (Postgres keeps the case of quoted names; SQLite and
    /// MySQL compare names without case).
    pub fn ident(&self, i: usize) -> Option<String> {
        if !self.is_ident(i) {
            return None;
        }
        let raw = self.text(i);
        let quoted = self.kind(i) != Some(TokenKind::Word);
        let s = if quoted {
            unquote(raw)
        } else {
            raw.to_string()
        };
        let fold = !quoted || matches!(self.dialect, Dialect::Sqlite | Dialect::Mysql);
        Some(if fold { s.to_lowercase() } else { s })
    }

    /// A possibly qualified name at `i`; returns it and the index after it.
    pub fn name(&self, i: usize) -> Option<(Name, usize)> {
        let first = self.ident(i)?;
        let mut parts = vec![first];
        let mut j = i + 1;
        while self.punct(j, ".") {
            match self.ident(j + 1) {
                Some(p) => {
                    parts.push(p);
                    j += 2;
                }
                None => break,
            }
        }
        let span = self.span(i).start..self.span(j - 1).end;
        Some((Name { parts, span }, j))
    }

    /// The index of the token that closes the parenthesis opened at `i`
    /// (or the end of the statement).
    pub fn close_paren(&self, i: usize) -> usize {
        let mut depth = 0usize;
        let mut j = i;
        while j < self.len() {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j;
                }
            }
            j += 1;
        }
        self.len()
    }

    /// Skips a parenthesised group at `i` if there is one.
    pub fn skip_parens(&self, i: usize) -> usize {
        if self.punct(i, "(") {
            (self.close_paren(i) + 1).min(self.len())
        } else {
            i
        }
    }

    /// The first index in `from..to` at parenthesis depth 0 where `pred` holds.
    pub fn find_depth0(
        &self,
        from: usize,
        to: usize,
        mut pred: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        let mut depth = 0usize;
        let to = to.min(self.len());
        let mut j = from;
        while j < to {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
            } else if depth == 0 && pred(j) {
                return Some(j);
            }
            j += 1;
        }
        None
    }

    /// Splits `from..to` at depth-0 commas.
    pub fn split_commas(&self, from: usize, to: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = from;
        let mut depth = 0usize;
        let to = to.min(self.len());
        for j in from..to {
            if self.punct(j, "(") || self.punct(j, "[") {
                depth += 1;
            } else if self.punct(j, ")") || self.punct(j, "]") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(j, ",") {
                out.push(start..j);
                start = j + 1;
            }
        }
        if start < to {
            out.push(start..to);
        }
        out
    }

    // ---------------------------------------------------------------
    // Statements

    fn statement(&self, i: usize) -> Kind {
        let Some(w) = self.word(i) else {
            return if self.punct(i, "(") {
                Kind::Query
            } else {
                Kind::Unknown
            };
        };
        let w = Upper::new(w);
        match w.as_str() {
            "CREATE" => self.create(i),
            "DROP" => self.drop(i),
            "ALTER" => self.alter(i),
            "RENAME" => self.rename_tables(i),
            "INSERT" | "REPLACE" => self.insert(i),
            "UPDATE" => self.update(i),
            "DELETE" => self.delete(i),
            "TRUNCATE" => self.truncate(i),
            "WITH" => self.with(i),
            "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT"
            | "RELEASE" => self.transaction(i),
            "PRAGMA" => self.pragma(i),
            "SET" => self.set(i),
            "DO" => self.do_block(i),
            "SELECT" | "VALUES" | "TABLE" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC" => Kind::Query,
            "GRANT" | "REVOKE" | "COMMENT" | "ANALYZE" | "ANALYSE" | "VACUUM" | "REINDEX"
            | "CLUSTER" | "CHECKPOINT" | "CALL" | "EXEC" | "EXECUTE" | "LOCK" | "UNLOCK"
            | "COPY" | "REFRESH" | "NOTIFY" | "LISTEN" | "UNLISTEN" | "DISCARD" | "RESET"
            | "USE" | "ATTACH" | "DETACH" | "LOAD" | "DECLARE" | "FETCH" | "CLOSE" | "MOVE"
            | "PREPARE" | "DEALLOCATE" | "SECURITY" | "IMPORT" | "OPTIMIZE" | "FLUSH" | "KILL"
            | "MERGE" | "REASSIGN" | "REPAIR" | "CHECK" | "INSTALL" | "UNINSTALL" | "HANDLER"
            | "CACHE" | "PURGE" | "SIGNAL" | "RESIGNAL" | "PERFORM" => Kind::Other,
            _ => Kind::Unknown,
        }
    }

    /// `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (...), ... <stmt>`.
    fn with(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw(j, "RECURSIVE") {
            j += 1;
        }
        // `WITH moved AS (DELETE ... RETURNING ...) INSERT ...` moves rows:
        // a second run finds nothing left to move.
        let mut consumes = false;
        // CTEs that only keep rows the target does not have yet
        // (`WHERE k NOT IN (SELECT k FROM t)`): an INSERT that reads them
        // is guarded like one with the anti-join in its own SELECT.
        let mut guarded_ctes = Vec::new();
        loop {
            // name [(cols)] AS [NOT] [MATERIALIZED] ( query )
            if !self.is_ident(j) {
                return Kind::Unknown;
            }
            let name = self.ident(j);
            j = self.skip_parens(j + 1);
            if !self.kw(j, "AS") {
                return Kind::Unknown;
            }
            j += 1;
            if self.kw(j, "NOT") {
                j += 1;
            }
            if self.kw(j, "MATERIALIZED") {
                j += 1;
            }
            if !self.punct(j, "(") {
                return Kind::Unknown;
            }
            consumes |= self.kw(j + 1, "DELETE");
            let close = self.close_paren(j);
            if self.anti_join(j + 1, close) {
                guarded_ctes.extend(name);
            }
            j = close + 1;
            if self.punct(j, ",") {
                j += 1;
                continue;
            }
            break;
        }
        if j >= self.len() {
            return Kind::Unknown;
        }
        match self.statement(j) {
            Kind::Unknown if self.punct(j, "(") => Kind::Query,
            Kind::Insert(mut ins) => {
                ins.anti_join |= consumes;
                if !guarded_ctes.is_empty() {
                    // The INSERT reads a guarded CTE: `FROM m`, `JOIN m`.
                    ins.anti_join |= (j..self.len()).any(|x| {
                        self.kw_any(x, &["FROM", "JOIN"])
                            && self.ident(x + 1).is_some_and(|n| {
                                guarded_ctes.iter().any(|g| g.eq_ignore_ascii_case(&n))
                            })
                    });
                }
                Kind::Insert(ins)
            }
            k => k,
        }
    }

    // ---------------------------------------------------------------
    // CREATE

    fn create(&self, i: usize) -> Kind {
        let create_span = self.span(i);
        let mut j = i + 1;
        let (mut or_replace, mut temporary, mut unique) = (false, false, false);
        let mut kind = None;
        let mut kw_tok = j;
        // Modifiers, then the object keyword.
        while j < self.len() && kind.is_none() {
            let Some(w) = self.word(j) else {
                return Kind::Unknown;
            };
            let w = Upper::new(w);
            kw_tok = j;
            match w.as_str() {
                "OR" if self.kw(j + 1, "REPLACE") => {
                    or_replace = true;
                    j += 2;
                    continue;
                }
                "TEMP" | "TEMPORARY" => temporary = true,
                "UNIQUE" => unique = true,
                "GLOBAL" | "LOCAL" | "UNLOGGED" | "RECURSIVE" | "FULLTEXT" | "SPATIAL"
                | "TRUSTED" | "PROCEDURAL" | "DEFAULT" | "NONCLUSTERED" | "CLUSTERED"
                | "ONLINE" | "OFFLINE" | "AGGREGATE"
                    if !self.create_kind_here(w.as_str(), j) => {}
                "DEFINER" => {
                    j = self.skip_definer(j);
                    continue;
                }
                "ALGORITHM" if self.punct(j + 1, "=") => {
                    j += 3;
                    continue;
                }
                "SQL" if self.kw(j + 1, "SECURITY") => {
                    j += 3;
                    continue;
                }
                _ => match self.object_kind(j) {
                    Some((k, last)) => {
                        kind = Some(k);
                        kw_tok = last;
                        j = last;
                    }
                    None => return Kind::Unknown,
                },
            }
            j += 1;
        }
        let Some(kind) = kind else {
            return Kind::Unknown;
        };
        let keyword_span = self.span(kw_tok);
        let mut concurrently = false;
        let mut insert_tok = kw_tok;
        if self.kw(j, "CONCURRENTLY") {
            concurrently = true;
            insert_tok = j;
            j += 1;
        }
        let mut if_not_exists = false;
        if let Some(n) = self.if_not_exists(j) {
            if_not_exists = true;
            j = n;
        }
        // The name; unnamed forms: `CREATE INDEX ON t`, `CREATE SCHEMA
        // AUTHORIZATION r`, `CREATE CAST (...)`, `CREATE USER MAPPING FOR ...`.
        let unnamed = match kind {
            ObjectKind::Index => self.kw(j, "ON"),
            ObjectKind::Schema => self.kw(j, "AUTHORIZATION"),
            ObjectKind::Cast | ObjectKind::UserMapping => true,
            _ => false,
        };
        let (name, after) = if unnamed {
            (None, j)
        } else {
            match self.name(j) {
                Some((n, after)) => (Some(n), after),
                None => (None, j),
            }
        };
        let mut name = name;
        let mut after = after;
        if matches!(kind, ObjectKind::User | ObjectKind::Role) && self.punct(after, "@") {
            // MySQL 'user'@'host': the name is the whole account.
            if let Some(n) = name.as_mut() {
                n.span.end = self.span(after + 1).end;
                n.parts = vec![format!("{}@{}", n.object(), unquote(self.text(after + 1)))];
            }
            after += 2;
        }
        if temporary
            || name
                .as_ref()
                .is_some_and(|n| n.parts.len() > 1 && n.parts[0] == "temp")
                && self.dialect == Dialect::Sqlite
        {
            temporary = true;
        }
        let table = match kind {
            ObjectKind::Index
            | ObjectKind::Trigger
            | ObjectKind::ConstraintTrigger
            | ObjectKind::Policy => self
                .find_depth0(after, self.len(), |k| {
                    self.kw_any(k, &["ON"]) || self.kw_any(k, &["BEGIN", "AS", "EXECUTE"])
                })
                .filter(|&k| self.kw(k, "ON"))
                .and_then(|k| {
                    let k = if self.kw(k + 1, "ONLY") { k + 2 } else { k + 1 };
                    self.name(k).map(|(n, _)| n)
                }),
            ObjectKind::Rule => self
                .find_depth0(after, self.len(), |k| self.kw(k, "TO"))
                .and_then(|k| self.name(k + 1).map(|(n, _)| n)),
            _ => None,
        };
        Kind::Create(Create {
            kind,
            or_replace,
            temporary,
            unique,
            concurrently,
            if_not_exists,
            name,
            table,
            create_span,
            keyword_span,
            if_not_exists_at: self.span(insert_tok).end,
            keyword_token: insert_tok,
            head_end: after,
        })
    }

    /// A modifier word that is really the object keyword (e.g. `DEFAULT`
    /// in `CREATE DEFAULT CONVERSION` is a modifier, `AGGREGATE` alone is
    /// the kind in Postgres).
    fn create_kind_here(&self, w: &str, j: usize) -> bool {
        match w {
            "AGGREGATE" => !self.kw(j + 1, "FUNCTION"),
            _ => false,
        }
    }

    /// MySQL `DEFINER = user[@host]` or `DEFINER = CURRENT_USER[()]`.
    fn skip_definer(&self, j: usize) -> usize {
        let mut k = j + 1;
        if self.punct(k, "=") {
            k += 1;
        }
        k += 1; // user
        if self.punct(k, "(") {
            k = self.skip_parens(k);
        }
        if self.punct(k, "@") {
            k += 2;
        } else if self.kind(k) == Some(TokenKind::Param) && self.text(k).starts_with('@') {
            k += 1;
        }
        k
    }

    /// The object kind whose keyword(s) start at `j`; returns it and the
    /// index of its last keyword.
    fn object_kind(&self, j: usize) -> Option<(ObjectKind, usize)> {
        use ObjectKind::*;
        let w = Upper::new(self.word(j)?);
        Some(match w.as_str() {
            "TABLE" => (Table, j),
            "VIRTUAL" if self.kw(j + 1, "TABLE") => (VirtualTable, j + 1),
            "FOREIGN" if self.kw(j + 1, "TABLE") => (ForeignTable, j + 1),
            "FOREIGN" if self.kws(j + 1, &["DATA", "WRAPPER"]) => (ForeignDataWrapper, j + 2),
            "INDEX" => (Index, j),
            "VIEW" => (View, j),
            "MATERIALIZED" if self.kw(j + 1, "VIEW") => (MaterializedView, j + 1),
            "TRIGGER" => (Trigger, j),
            "CONSTRAINT" if self.kw(j + 1, "TRIGGER") => (ConstraintTrigger, j + 1),
            "EVENT" if self.kw(j + 1, "TRIGGER") => (EventTrigger, j + 1),
            "EVENT" => (Event, j),
            "SCHEMA" => (Schema, j),
            "DATABASE" => (Database, j),
            "SEQUENCE" => (Sequence, j),
            "EXTENSION" => (Extension, j),
            "TYPE" => (Type, j),
            "DOMAIN" => (Domain, j),
            "ROLE" => (Role, j),
            "USER" if self.kw(j + 1, "MAPPING") => (UserMapping, j + 1),
            "USER" => (User, j),
            "GROUP" => (Group, j),
            "FUNCTION" => (Function, j),
            "PROCEDURE" => (Procedure, j),
            "AGGREGATE" if self.kw(j + 1, "FUNCTION") => (Function, j + 1),
            "AGGREGATE" => (Aggregate, j),
            "POLICY" => (Policy, j),
            "RULE" => (Rule, j),
            "COLLATION" => (Collation, j),
            "SERVER" => (Server, j),
            "STATISTICS" => (Statistics, j),
            "TABLESPACE" => (Tablespace, j),
            "PUBLICATION" => (Publication, j),
            "SUBSCRIPTION" => (Subscription, j),
            "CAST" => (Cast, j),
            "OPERATOR" if self.kw_any(j + 1, &["CLASS", "FAMILY"]) => (Operator, j + 1),
            "OPERATOR" => (Operator, j),
            "CONVERSION" => (Conversion, j),
            "LANGUAGE" => (Language, j),
            "TEXT" if self.kw(j + 1, "SEARCH") => (TextSearch, (j + 2).min(self.len() - 1)),
            "ACCESS" if self.kw(j + 1, "METHOD") => (AccessMethod, j + 1),
            "TRANSFORM" => (Transform, j),
            _ => return None,
        })
    }

    // ---------------------------------------------------------------
    // DROP

    fn drop(&self, i: usize) -> Kind {
        let drop_span = self.span(i);
        let mut j = i + 1;
        let mut temporary = false;
        if self.kw_any(j, &["TEMPORARY", "TEMP"]) {
            temporary = true;
            j += 1;
        }
        if self.kw(j, "OWNED") {
            return Kind::Other;
        }
        let Some((kind, last)) = self.object_kind(j) else {
            return Kind::Unknown;
        };
        let keyword_span = self.span(last);
        let mut insert_tok = last;
        j = last + 1;
        let mut concurrently = false;
        if self.kw(j, "CONCURRENTLY") {
            concurrently = true;
            insert_tok = j;
            j += 1;
        }
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let mut names = Vec::new();
        let mut head_end = j;
        if !matches!(kind, ObjectKind::Cast | ObjectKind::UserMapping) {
            while let Some((n, after)) = self.name(j) {
                let mut after = after;
                if kind == ObjectKind::User && self.punct(after, "@") {
                    after += 2;
                }
                // Function signatures: f(int, text).
                after = self.skip_parens(after);
                names.push(n);
                head_end = after;
                if self.punct(after, ",") {
                    j = after + 1;
                } else {
                    break;
                }
            }
        }
        let mut table = None;
        if self.kw(head_end, "ON") {
            if let Some((n, after)) = self.name(head_end + 1) {
                table = Some(n);
                head_end = after;
            }
        }
        // Another statement's keyword after the names: statements that lost
        // their `;` (`DROP TABLE a` / `DROP TABLE b` on two lines). Not a
        // DROP the rules can reason about (or fix): sqlparser's error says
        // where the next statement starts.
        if (head_end..self.len()).any(|k| {
            self.kw_any(
                k,
                &[
                    "DROP", "CREATE", "ALTER", "INSERT", "UPDATE", "DELETE", "SELECT",
                ],
            )
        }) {
            return Kind::Unknown;
        }
        Kind::Drop(Drop {
            kind,
            if_exists,
            temporary,
            concurrently,
            names,
            table,
            drop_span,
            keyword_span,
            if_exists_at: self.span(insert_tok).end,
            keyword_token: insert_tok,
            head_end,
        })
    }

    // ---------------------------------------------------------------
    // ALTER

    fn alter(&self, i: usize) -> Kind {
        let mut j = i + 1;
        // MySQL `ALTER [ONLINE] [IGNORE] TABLE`, `ALTER DEFINER=... VIEW`,
        // `ALTER ALGORITHM=... VIEW`.
        loop {
            if self.kw_any(j, &["ONLINE", "IGNORE", "OFFLINE"]) {
                j += 1;
            } else if self.kw(j, "DEFINER") {
                j = self.skip_definer(j);
            } else if (self.kw(j, "ALGORITHM") && self.punct(j + 1, "="))
                || self.kws(j, &["SQL", "SECURITY"])
            {
                j += 3;
            } else {
                break;
            }
        }
        let Some((kind, last)) = self.object_kind(j) else {
            // ALTER SYSTEM, ALTER DEFAULT PRIVILEGES, ALTER LARGE OBJECT, ...
            return if self.kw_any(j, &["SYSTEM", "DEFAULT", "LARGE", "INSTANCE", "LOGFILE"]) {
                Kind::Other
            } else {
                Kind::Unknown
            };
        };
        j = last + 1;
        if kind == ObjectKind::Table {
            return self.alter_table(i, j);
        }
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let (name, mut k) = match self.name(j) {
            Some((n, after)) => (Some(n), after),
            None => (None, j),
        };
        k = self.skip_parens(k);
        let table = if self.kw(k, "ON") {
            let t = self.name(k + 1);
            if let Some((_, after)) = &t {
                k = *after;
            }
            t.map(|(n, _)| n)
        } else {
            None
        };
        let op = if self.kws(k, &["RENAME", "TO"]) {
            match self.name(k + 2) {
                Some((new, _)) => AlterObjectOp::RenameTo { new },
                None => AlterObjectOp::Other,
            }
        } else if self.kw(k, "RENAME") && self.kw_any(k + 1, &["VALUE", "ATTRIBUTE", "COLUMN"]) {
            let member = if self.kw(k + 1, "VALUE") {
                "value"
            } else {
                "attribute"
            };
            if self.kw(k + 3, "TO") {
                AlterObjectOp::RenameMember {
                    member,
                    from: self.text(k + 2).to_string(),
                    to: self.text(k + 4).to_string(),
                }
            } else {
                AlterObjectOp::Other
            }
        } else if self.kws(k, &["SET", "SCHEMA"]) {
            AlterObjectOp::SetSchema
        } else if self.kws(k, &["ADD", "VALUE"]) {
            let mut v = k + 2;
            let if_not_exists = match self.if_not_exists(v) {
                Some(n) => {
                    v = n;
                    true
                }
                None => false,
            };
            AlterObjectOp::AddValue {
                value: self.text(v).to_string(),
                if_not_exists,
                insert_at: self.span(k + 1).end,
            }
        } else {
            AlterObjectOp::Other
        };
        Kind::AlterObject(AlterObject {
            kind,
            if_exists,
            name,
            table,
            op,
        })
    }

    fn alter_table(&self, i: usize, mut j: usize) -> Kind {
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let mut only = false;
        if self.kw(j, "ONLY") {
            only = true;
            j += 1;
        }
        let Some((table, after)) = self.name(j) else {
            return Kind::AlterTable(AlterTable {
                table: None,
                if_exists,
                only,
                actions: Vec::new(),
                head_span: self.span_of(i..j),
            });
        };
        let mut k = after;
        if self.punct(k, "*") {
            k += 1;
        }
        let head_span = self.span_of(i..k);
        let mut actions = Vec::new();
        for r in self.split_commas(k, self.len()) {
            let span = self.span_of(r.clone());
            for op in self.alter_action(r) {
                actions.push(AlterAction {
                    op,
                    span: span.clone(),
                });
            }
        }
        Kind::AlterTable(AlterTable {
            table: Some(table),
            if_exists,
            only,
            actions,
            head_span,
        })
    }

    /// One comma-separated action (MySQL `ADD (a int, b int)` gives several).
    fn alter_action(&self, r: Range<usize>) -> Vec<AlterOp> {
        let s = r.start;
        let end = r.end;
        let Some(w) = self.word(s) else {
            return vec![AlterOp::Other];
        };
        let w = Upper::new(w);
        match w.as_str() {
            "ADD" => self.alter_add(s, end),
            "DROP" => vec![self.alter_drop(s, end)],
            "RENAME" => vec![self.alter_rename(s)],
            "ALTER" | "MODIFY" => {
                let k = if self.kw(s + 1, "COLUMN") {
                    s + 2
                } else {
                    s + 1
                };
                vec![AlterOp::AlterColumn {
                    name: self.name(k).map(|(n, _)| n),
                }]
            }
            "CHANGE" => {
                let k = if self.kw(s + 1, "COLUMN") {
                    s + 2
                } else {
                    s + 1
                };
                match self
                    .name(k)
                    .and_then(|(from, a)| Some((from, self.name(a)?.0)))
                {
                    Some((from, to)) => vec![AlterOp::ChangeColumn { from, to }],
                    None => vec![AlterOp::Other],
                }
            }
            "SET" if self.kw(s + 1, "SCHEMA") => match self.name(s + 2) {
                Some((schema, _)) => vec![AlterOp::SetSchema { schema }],
                None => vec![AlterOp::Other],
            },
            _ => vec![AlterOp::Other],
        }
    }

    fn alter_add(&self, s: usize, end: usize) -> Vec<AlterOp> {
        let mut k = s + 1;
        let constraint_kind = |k: usize| -> Option<(ConstraintKind, usize)> {
            let w = Upper::new(self.word(k)?);
            Some(match w.as_str() {
                "PRIMARY" if self.kw(k + 1, "KEY") => (ConstraintKind::PrimaryKey, k + 2),
                "UNIQUE" => {
                    let n = if self.kw_any(k + 1, &["INDEX", "KEY"]) {
                        k + 2
                    } else {
                        k + 1
                    };
                    (ConstraintKind::Unique, n)
                }
                "FOREIGN" if self.kw(k + 1, "KEY") => (ConstraintKind::ForeignKey, k + 2),
                "CHECK" => (ConstraintKind::Check, k + 1),
                "EXCLUDE" => (ConstraintKind::Exclude, k + 1),
                "INDEX" | "KEY" => (ConstraintKind::Index, k + 1),
                "FULLTEXT" | "SPATIAL" => {
                    let n = if self.kw_any(k + 1, &["INDEX", "KEY"]) {
                        k + 2
                    } else {
                        k + 1
                    };
                    (ConstraintKind::Index, n)
                }
                _ => return None,
            })
        };
        if self.kw(k, "CONSTRAINT") {
            k += 1;
            let mut if_not_exists = false;
            if let Some(n) = self.if_not_exists(k) {
                if_not_exists = true;
                k = n;
            }
            // `ADD CONSTRAINT PRIMARY KEY (...)` (MySQL allows the name to be left out).
            if let Some((ck, _)) = constraint_kind(k).filter(|(ck, _)| {
                *ck != ConstraintKind::Index && !self.is_ident(k + 1) || self.punct(k + 1, "(")
            }) {
                if !self.is_ident(k) || self.kw_any(k, &["PRIMARY", "UNIQUE", "FOREIGN", "CHECK"]) {
                    return vec![AlterOp::AddConstraint {
                        name: None,
                        constraint: ck,
                        if_not_exists,
                    }];
                }
            }
            let (name, after) = match self.name(k) {
                Some((n, a)) => (Some(n), a),
                None => (None, k),
            };
            let constraint = constraint_kind(after)
                .map(|(c, _)| c)
                .unwrap_or(ConstraintKind::Unspecified);
            return vec![AlterOp::AddConstraint {
                name,
                constraint,
                if_not_exists,
            }];
        }
        if let Some((ck, after)) = constraint_kind(k) {
            if ck == ConstraintKind::Check
                || ck == ConstraintKind::Exclude
                || ck == ConstraintKind::PrimaryKey
                || ck == ConstraintKind::ForeignKey
                || ck == ConstraintKind::Unique
                || ck == ConstraintKind::Index
            {
                // MySQL: `ADD UNIQUE [INDEX|KEY] [IF NOT EXISTS] [name] (...)`,
                // `ADD INDEX [IF NOT EXISTS] name (...)`, `ADD FOREIGN KEY [name] (...)`.
                let mut a = after;
                let mut if_not_exists = false;
                if let Some(n) = self.if_not_exists(a) {
                    if_not_exists = true;
                    a = n;
                }
                let name = if matches!(
                    ck,
                    ConstraintKind::Index | ConstraintKind::Unique | ConstraintKind::ForeignKey
                ) && self.is_ident(a)
                    && !self.kw_any(a, &["USING", "KEY", "INDEX"])
                {
                    self.name(a).map(|(n, _)| n)
                } else {
                    None
                };
                return vec![AlterOp::AddConstraint {
                    name,
                    constraint: ck,
                    if_not_exists,
                }];
            }
        }
        if self.kw_any(k, &["PARTITION", "VALUE"]) {
            return vec![AlterOp::Other];
        }
        let mut insert_at = self.span(s).end;
        if self.kw(k, "COLUMN") {
            insert_at = self.span(k).end;
            k += 1;
        }
        let mut if_not_exists = false;
        if let Some(n) = self.if_not_exists(k) {
            if_not_exists = true;
            k = n;
        }
        if self.punct(k, "(") {
            // MySQL: ADD [COLUMN] (a int, b int).
            let close = self.close_paren(k);
            return self
                .split_commas(k + 1, close.min(end))
                .into_iter()
                .filter_map(|r| self.name(r.start))
                .map(|(name, _)| AlterOp::AddColumn {
                    name,
                    if_not_exists,
                    insert_at,
                })
                .collect();
        }
        match self.name(k) {
            Some((name, _)) => vec![AlterOp::AddColumn {
                name,
                if_not_exists,
                insert_at,
            }],
            None => vec![AlterOp::Other],
        }
    }

    fn alter_drop(&self, s: usize, _end: usize) -> AlterOp {
        let mut k = s + 1;
        let with_if_exists = |k: usize| -> (bool, usize) {
            match self.if_exists(k) {
                Some(n) => (true, n),
                None => (false, k),
            }
        };
        let w = self
            .word(k)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        let constraint = match w.as_str() {
            "CONSTRAINT" => Some((ConstraintKind::Unspecified, k)),
            "INDEX" | "KEY" => Some((ConstraintKind::Index, k)),
            "CHECK" => Some((ConstraintKind::Check, k)),
            "FOREIGN" if self.kw(k + 1, "KEY") => Some((ConstraintKind::ForeignKey, k + 1)),
            "PRIMARY" if self.kw(k + 1, "KEY") => {
                return AlterOp::DropConstraint {
                    name: None,
                    constraint: ConstraintKind::PrimaryKey,
                    if_exists: false,
                    insert_at: self.span(k + 1).end,
                }
            }
            "PARTITION" | "DEFAULT" | "EXPRESSION" | "NOT" | "IDENTITY" => return AlterOp::Other,
            _ => None,
        };
        if let Some((ck, last)) = constraint {
            let (if_exists, n) = with_if_exists(last + 1);
            return match self.name(n) {
                Some((name, _)) => AlterOp::DropConstraint {
                    name: Some(name),
                    constraint: ck,
                    if_exists,
                    insert_at: self.span(last).end,
                },
                None => AlterOp::Other,
            };
        }
        let mut insert_at = self.span(s).end;
        if self.kw(k, "COLUMN") {
            insert_at = self.span(k).end;
            k += 1;
        }
        let (if_exists, n) = with_if_exists(k);
        match self.name(n) {
            Some((name, _)) => AlterOp::DropColumn {
                name,
                if_exists,
                insert_at,
            },
            None => AlterOp::Other,
        }
    }

    fn alter_rename(&self, s: usize) -> AlterOp {
        let k = s + 1;
        if self.kw_any(k, &["TO", "AS"]) {
            return match self.name(k + 1) {
                Some((new, _)) => AlterOp::RenameTo { new },
                None => AlterOp::Other,
            };
        }
        let pair = |from_at: usize| -> Option<(Name, Name)> {
            let (from, a) = self.name(from_at)?;
            if !self.kw(a, "TO") {
                return None;
            }
            Some((from, self.name(a + 1)?.0))
        };
        let op = if self.kw(k, "CONSTRAINT") {
            pair(k + 1).map(|(from, to)| AlterOp::RenameConstraint { from, to })
        } else if self.kw_any(k, &["INDEX", "KEY"]) {
            pair(k + 1).map(|(from, to)| AlterOp::RenameIndex { from, to })
        } else if self.kw(k, "COLUMN") {
            pair(k + 1).map(|(from, to)| AlterOp::RenameColumn { from, to })
        } else {
            pair(k).map(|(from, to)| AlterOp::RenameColumn { from, to })
        };
        op.unwrap_or(AlterOp::Other)
    }

    /// MySQL `RENAME TABLE a TO b [, c TO d]`.
    fn rename_tables(&self, i: usize) -> Kind {
        if !self.kw(i + 1, "TABLE") {
            return if self.kw(i + 1, "USER") {
                Kind::Other
            } else {
                Kind::Unknown
            };
        }
        let mut pairs = Vec::new();
        for r in self.split_commas(i + 2, self.len()) {
            if let Some((from, a)) = self.name(r.start) {
                if self.kw(a, "TO") {
                    if let Some((to, _)) = self.name(a + 1) {
                        pairs.push(RenamePair { from, to });
                    }
                }
            }
        }
        if pairs.is_empty() {
            Kind::Unknown
        } else {
            Kind::RenameTables(pairs)
        }
    }

    // ---------------------------------------------------------------
    // DML

    fn insert(&self, i: usize) -> Kind {
        let mut j = i + 1;
        let mut conflict = Conflict::None;
        if self.kw(i, "REPLACE") {
            conflict = Conflict::ReplaceInto;
        } else {
            loop {
                if self.kw(j, "OR") {
                    conflict = match self.word(j + 1).map(str::to_ascii_uppercase).as_deref() {
                        Some("IGNORE") => Conflict::OrIgnore,
                        Some("REPLACE") => Conflict::OrReplace,
                        _ => Conflict::OrAbort,
                    };
                    j += 2;
                } else if self.kw(j, "IGNORE") {
                    conflict = Conflict::InsertIgnore;
                    j += 1;
                } else if self.kw_any(j, &["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"]) {
                    j += 1;
                } else {
                    break;
                }
            }
        }
        if self.kw(i, "REPLACE") {
            while self.kw_any(j, &["LOW_PRIORITY", "DELAYED"]) {
                j += 1;
            }
        }
        if self.kw(j, "INTO") {
            j += 1;
        }
        if self.kw(j, "TABLE") {
            j += 1;
        }
        let (table, mut k) = match self.name(j) {
            Some((n, a)) => (Some(n), a),
            None => (None, j),
        };
        let mut alias = None;
        if self.kw(k, "AS") && self.is_ident(k + 1) {
            alias = self.ident(k + 1);
            k += 2;
        }
        let mut columns = Vec::new();
        if self.punct(k, "(") && !self.kw_any(k + 1, &["SELECT", "WITH", "VALUES"]) {
            let close = self.close_paren(k);
            for r in self.split_commas(k + 1, close) {
                if let Some((n, _)) = self.name(r.start) {
                    columns.push(n.object().to_string());
                }
            }
            k = close + 1;
        }
        let n = self.len();
        // Where the conflict clause / RETURNING starts (depth 0).
        let tail = self
            .find_depth0(k, n, |x| {
                (self.kw(x, "ON") && self.kw_any(x + 1, &["CONFLICT", "DUPLICATE"]))
                    || self.kw(x, "RETURNING")
            })
            .unwrap_or(n);
        let mut source = InsertSource::Unknown;
        let mut written = Vec::new();
        let mut first_row = Vec::new();
        let mut row_alias = None;
        let mut anti_join = false;
        let mut src = k;
        while self.kw_any(src, &["OVERRIDING", "SYSTEM", "USER", "VALUE"])
            && !self.punct(src + 1, "(")
        {
            src += 1;
        }
        if self.kws(src, &["DEFAULT", "VALUES"]) {
            source = InsertSource::DefaultValues;
        } else if self.kw_any(src, &["VALUES", "VALUE"]) {
            source = InsertSource::Values;
            let mut end = tail;
            // MySQL 8 row alias: VALUES (...) AS new [(cols)].
            if let Some(a) = self.find_depth0(src + 1, tail, |x| self.kw(x, "AS")) {
                row_alias = self.ident(a + 1);
                end = a;
            }
            written.push(src + 1..end);
            let mut r = src + 1;
            if self.kw(r, "ROW") {
                r += 1;
            }
            if self.punct(r, "(") {
                let close = self.close_paren(r);
                first_row = self.split_commas(r + 1, close);
            }
        } else if self.kw(src, "SET") {
            source = InsertSource::Set;
            for a in self.assignments(src + 1, tail) {
                written.push(a.value);
            }
        } else if self.kw_any(src, &["SELECT", "WITH", "TABLE"]) || self.punct(src, "(") {
            source = InsertSource::Select;
            self.projections(src, tail, &mut written);
            anti_join = self.anti_join(src, tail);
        }
        let mut update = Vec::new();
        let mut update_where = None;
        if self.kws(tail, &["ON", "CONFLICT"]) {
            let do_at = self.find_depth0(tail + 2, n, |x| self.kw(x, "DO"));
            match do_at {
                Some(d) if self.kw(d + 1, "NOTHING") => conflict = Conflict::DoNothing,
                Some(d) if self.kws(d + 1, &["UPDATE", "SET"]) => {
                    conflict = Conflict::DoUpdate;
                    let end = self
                        .find_depth0(d + 3, n, |x| self.kw(x, "RETURNING"))
                        .unwrap_or(n);
                    let w = self.find_depth0(d + 3, end, |x| self.kw(x, "WHERE"));
                    update = self.assignments(d + 3, w.unwrap_or(end));
                    update_where = w.map(|w| w + 1..end);
                }
                _ => conflict = Conflict::DoNothing,
            }
        } else if self.kws(tail, &["ON", "DUPLICATE", "KEY", "UPDATE"]) {
            conflict = Conflict::DuplicateKeyUpdate;
            update = self.assignments(tail + 4, n);
        }
        Kind::Insert(Box::new(Insert {
            table,
            alias,
            conflict,
            anti_join,
            source,
            columns,
            first_row,
            written,
            update,
            update_where,
            row_alias,
            start: i,
        }))
    }

    /// The projections of the SELECTs of an INSERT's source, at its top level.
    fn projections(&self, from: usize, to: usize, out: &mut Vec<Range<usize>>) {
        let mut from = from;
        // Skip a leading WITH list.
        if self.kw(from, "WITH") {
            let mut j = from + 1;
            while j < to {
                if self.punct(j, "(") {
                    j = self.close_paren(j) + 1;
                    continue;
                }
                if self.kw(j, "SELECT") {
                    break;
                }
                j += 1;
            }
            from = j;
        }
        let mut depth = 0usize;
        let mut j = from;
        while j < to {
            if self.punct(j, "(") {
                // A parenthesised SELECT at the top: `INSERT INTO t (SELECT ...)`.
                if j == from && self.kw(j + 1, "SELECT") {
                    j += 1;
                    continue;
                }
                depth += 1;
            } else if self.punct(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.kw(j, "SELECT") {
                let mut s = j + 1;
                while self.kw_any(s, &["DISTINCT", "ALL"]) {
                    s += 1;
                    if self.kw(s, "ON") {
                        s = self.skip_parens(s + 1);
                    }
                }
                let e = self
                    .find_depth0(s, to, |x| {
                        self.kw_any(
                            x,
                            &[
                                "FROM",
                                "WHERE",
                                "GROUP",
                                "HAVING",
                                "ORDER",
                                "LIMIT",
                                "UNION",
                                "EXCEPT",
                                "INTERSECT",
                                "WINDOW",
                                "INTO",
                                "MINUS",
                            ],
                        )
                    })
                    .unwrap_or_else(|| self.close_paren_from(s, to));
                out.push(s..e);
                j = e;
                continue;
            }
            j += 1;
        }
    }

    /// The index of the first unmatched `)` in `from..to`, or `to`.
    fn close_paren_from(&self, from: usize, to: usize) -> usize {
        let mut depth = 0usize;
        for j in from..to.min(self.len()) {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
        }
        to.min(self.len())
    }

    /// An anti-join guard in `from..to`: `NOT EXISTS`, `NOT IN (SELECT`,
    /// `EXCEPT`/`MINUS`, or `LEFT [OUTER] JOIN` followed by `IS NULL`.
    fn anti_join(&self, from: usize, to: usize) -> bool {
        let to = to.min(self.len());
        let mut left_join = false;
        for j in from..to {
            if self.kw(j, "NOT") {
                if self.kw(j + 1, "EXISTS") {
                    return true;
                }
                if self.kw(j + 1, "IN") && self.punct(j + 2, "(") && self.kw(j + 3, "SELECT") {
                    return true;
                }
            } else if self.kw_any(j, &["EXCEPT", "MINUS"]) {
                return true;
            } else if self.kw(j, "LEFT") {
                left_join = true;
            } else if left_join && self.kws(j, &["IS", "NULL"]) {
                return true;
            }
        }
        false
    }

    /// `a = x, t.b = y, (c, d) = (...)` in `from..to`, stopping at a depth-0
    /// `FROM`/`WHERE`/`RETURNING`/`ORDER`/`LIMIT`.
    pub fn assignments(&self, from: usize, to: usize) -> Vec<Assign> {
        let end = self
            .find_depth0(from, to, |x| {
                self.kw_any(
                    x,
                    &["FROM", "WHERE", "RETURNING", "ORDER", "LIMIT", "OUTPUT"],
                )
            })
            .unwrap_or(to.min(self.len()));
        let mut out = Vec::new();
        for r in self.split_commas(from, end) {
            let s = r.start;
            let (columns, qualifier, eq) = if self.punct(s, "(") {
                let close = self.close_paren(s);
                let cols = self
                    .split_commas(s + 1, close)
                    .into_iter()
                    .filter_map(|c| self.name(c.start))
                    .map(|(n, _)| n.object().to_string())
                    .collect();
                (cols, None, close + 1)
            } else {
                match self.name(s) {
                    Some((n, a)) => (
                        vec![n.object().to_string()],
                        n.qualifier().map(str::to_string),
                        a,
                    ),
                    None => continue,
                }
            };
            // `col[1] = ...` (array element) or `col = ...`.
            let eq = self.skip_brackets(eq);
            if !self.punct(eq, "=") {
                continue;
            }
            out.push(Assign {
                columns,
                qualifier,
                range: r.clone(),
                value: eq + 1..r.end,
            });
        }
        out
    }

    fn skip_brackets(&self, mut i: usize) -> usize {
        while self.punct(i, "[") {
            let mut j = i;
            while j < self.len() && !self.punct(j, "]") {
                j += 1;
            }
            i = j + 1;
        }
        i
    }

    fn update(&self, i: usize) -> Kind {
        let mut j = i + 1;
        loop {
            if self.kw(j, "OR") {
                j += 2;
            } else if self.kw_any(j, &["LOW_PRIORITY", "IGNORE", "ONLY"]) {
                j += 1;
            } else {
                break;
            }
        }
        let (table, mut k) = match self.name(j) {
            Some((n, a)) => (Some(n), a),
            None => (None, j),
        };
        if self.punct(k, "*") {
            k += 1;
        }
        let mut alias = None;
        if self.kw(k, "AS") && self.is_ident(k + 1) {
            alias = self.ident(k + 1);
        } else if self.is_ident(k) && !self.kw_any(k, NOT_ALIAS) {
            alias = self.ident(k);
        }
        let n = self.len();
        let Some(set) = self.find_depth0(k, n, |x| self.kw(x, "SET")) else {
            return Kind::Update(Box::new(Update {
                table,
                alias,
                assignments: Vec::new(),
                where_range: None,
                start: i,
            }));
        };
        let assignments = self.assignments(set + 1, n);
        let where_range = self
            .find_depth0(set + 1, n, |x| self.kw(x, "WHERE"))
            .map(|w| {
                let end = self
                    .find_depth0(w + 1, n, |x| {
                        self.kw_any(x, &["RETURNING", "ORDER", "LIMIT"])
                    })
                    .unwrap_or(n);
                w + 1..end
            });
        Kind::Update(Box::new(Update {
            table,
            alias,
            assignments,
            where_range,
            start: i,
        }))
    }

    fn delete(&self, i: usize) -> Kind {
        let mut j = i + 1;
        while self.kw_any(j, &["LOW_PRIORITY", "QUICK", "IGNORE"]) {
            j += 1;
        }
        if self.kw(j, "FROM") {
            j += 1;
        }
        if self.kw(j, "ONLY") {
            j += 1;
        }
        let table = self.name(j).map(|(n, _)| n);
        let has_where = self
            .find_depth0(j, self.len(), |x| self.kw(x, "WHERE"))
            .is_some();
        Kind::Delete(Delete { table, has_where })
    }

    fn truncate(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw(j, "TABLE") {
            j += 1;
        }
        if self.kw(j, "ONLY") {
            j += 1;
        }
        let names = self
            .split_commas(j, self.len())
            .into_iter()
            .filter_map(|r| self.name(r.start).map(|(n, _)| n))
            .collect();
        Kind::Truncate(names)
    }

    // ---------------------------------------------------------------
    // Transaction control, PRAGMA, SET

    fn transaction(&self, i: usize) -> Kind {
        let w = Upper::new(self.word(i).unwrap_or(""));
        let k = match w.as_str() {
            "BEGIN" => Transaction::Begin,
            "START" if self.kw(i + 1, "TRANSACTION") => Transaction::Begin,
            "START" => return Kind::Other,
            "COMMIT" if self.kw(i + 1, "PREPARED") => Transaction::Other,
            "COMMIT" | "END" => Transaction::Commit,
            "ROLLBACK" if self.kw(i + 1, "PREPARED") => Transaction::Other,
            "ROLLBACK"
                if self
                    .find_depth0(i + 1, self.len(), |x| self.kw(x, "TO"))
                    .is_some() =>
            {
                Transaction::RollbackTo
            }
            "ROLLBACK" | "ABORT" => Transaction::Rollback,
            "SAVEPOINT" => Transaction::Savepoint,
            "RELEASE" => Transaction::Release,
            _ => Transaction::Other,
        };
        Kind::Transaction(k)
    }

    fn pragma(&self, i: usize) -> Kind {
        let Some((name, after)) = self.name(i + 1) else {
            return Kind::Unknown;
        };
        let value = if self.punct(after, "=") || self.punct(after, "(") {
            Some(self.text(after + 1).to_string())
        } else {
            None
        };
        Kind::Pragma(Pragma {
            name: name.object().to_string(),
            value,
        })
    }

    fn set(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw_any(
            j,
            &["SESSION", "LOCAL", "GLOBAL", "PERSIST", "PERSIST_ONLY"],
        ) {
            j += 1;
        }
        let name = self
            .word(j)
            .map(str::to_ascii_lowercase)
            .or_else(|| {
                (self.kind(j) == Some(TokenKind::Param)).then(|| self.text(j).to_ascii_lowercase())
            })
            .unwrap_or_default();
        Kind::Set(Set { name })
    }

    // ---------------------------------------------------------------
    // DO blocks

    /// `DO [LANGUAGE l] $$ body $$ [LANGUAGE l]` (Postgres). MySQL's `DO expr`
    /// evaluates expressions and is not a block.
    fn do_block(&self, i: usize) -> Kind {
        let mut language = None;
        let mut body_tok = None;
        let mut j = i + 1;
        while j < self.len() {
            if self.kw(j, "LANGUAGE") {
                language = self
                    .ident(j + 1)
                    .or_else(|| Some(unquote(self.text(j + 1))));
                j += 2;
                continue;
            }
            match self.kind(j) {
                Some(TokenKind::DollarString) | Some(TokenKind::String) if body_tok.is_none() => {
                    body_tok = Some(j)
                }
                _ => {}
            }
            j += 1;
        }
        let Some(b) = body_tok else {
            return if self.dialect == Dialect::Mysql {
                Kind::Other
            } else {
                Kind::Unknown
            };
        };
        let span = self.span(b);
        let raw = self.text(b);
        let body = match self.kind(b) {
            Some(TokenKind::DollarString) => {
                let tag_len = raw[1..].find('$').map_or(raw.len(), |p| p + 2);
                // Only a closed body (an unterminated one may end anywhere,
                // even inside a character).
                if raw.len() < 2 * tag_len || !raw.ends_with(&raw[..tag_len]) {
                    span.start..span.start
                } else {
                    span.start + tag_len..span.end - tag_len
                }
            }
            // A '...' body: only when closed and no quote is doubled inside,
            // so that offsets in the body are offsets in the file.
            _ if raw.len() >= 2
                && raw.starts_with('\'')
                && raw.ends_with('\'')
                && !raw[1..raw.len() - 1].contains('\'') =>
            {
                span.start + 1..span.end - 1
            }
            _ => span.start..span.start,
        };
        let plpgsql = language.as_deref().is_none_or(|l| l == "plpgsql");
        let (tokens, inner) = if plpgsql && !body.is_empty() {
            plpgsql_body(self.text, body.clone(), self.dialect)
        } else {
            (Vec::new(), Vec::new())
        };
        Kind::Do(Box::new(DoBlock {
            language,
            body,
            tokens,
            inner,
        }))
    }
}

/// A word upper-cased on the stack, to match keywords without allocating.
/// Words longer than any keyword read as empty.
struct Upper {
    buf: [u8; 24],
    len: usize,
}

impl Upper {
    fn new(w: &str) -> Upper {
        let mut buf = [0u8; 24];
        if w.len() > buf.len() {
            return Upper { buf, len: 0 };
        }
        for (i, b) in w.bytes().enumerate() {
            buf[i] = b.to_ascii_uppercase();
        }
        Upper { buf, len: w.len() }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Removes the quotes of a quoted identifier or string (doubled quotes
/// inside become one).
pub fn unquote(raw: &str) -> String {
    let mut chars = raw.chars();
    let (open, close) = match chars.next() {
        Some('"') => ('"', '"'),
        Some('`') => ('`', '`'),
        Some('[') => ('[', ']'),
        Some('\'') => ('\'', '\''),
        _ => return raw.to_string(),
    };
    let _ = open;
    let inner = &raw[1..];
    let inner = inner.strip_suffix(close).unwrap_or(inner);
    let doubled: String = [close, close].iter().collect();
    inner.replace(&doubled, &close.to_string())
}

// -------------------------------------------------------------------
// PL/pgSQL bodies

/// What encloses a PL/pgSQL statement.
enum Frame {
    /// `BEGIN ... [EXCEPTION ...] END`; `first` is the first inner statement
    /// of the block, `handler` whether its handlers catch a second run's
    /// failure, `in_handlers` whether the walk is in the EXCEPTION section.
    Block {
        first: usize,
        handler: bool,
        in_handlers: bool,
    },
    If {
        guard: bool,
    },
    Case {
        guard: bool,
    },
    Loop,
}

/// Exception conditions that catch what a second run of DDL or an INSERT
/// raises.
fn catches_second_run(cond: &str) -> bool {
    let c = cond.to_ascii_lowercase();
    c.starts_with("duplicate_")
        || c.starts_with("undefined_")
        || matches!(
            c.as_str(),
            "others"
                | "sqlstate"
                | "unique_violation"
                | "invalid_table_definition"
                | "invalid_schema_name"
                | "invalid_object_definition"
                | "dependent_objects_still_exist"
                | "object_not_in_prerequisite_state"
        )
}

/// Statement keywords of SQL statements inside a PL/pgSQL body.
const SQL_STARTS: &[&str] = &[
    "CREATE", "DROP", "ALTER", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "WITH", "COMMENT",
    "GRANT", "REVOKE", "REFRESH", "MERGE",
];

/// Walks a PL/pgSQL body (file range `body`) and returns its tokens and the
/// SQL statements in it, each classified and marked guarded when it sits
/// under an existence check or in a block whose exception handler catches a
/// second run's failure.
fn plpgsql_body(text: &str, body: Range<usize>, dialect: Dialect) -> (Vec<Token>, Vec<Inner>) {
    let toks = significant_tokens(text, body, dialect);
    let t = Toks {
        text,
        toks: &toks,
        dialect,
    };
    let mut inner: Vec<Inner> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Variables filled from a query (`SELECT ... INTO v`, `v := (SELECT ...)`):
    // conditions on them are existence checks.
    let mut state_vars: Vec<String> = Vec::new();
    let n = t.len();
    let is_guard_cond = |range: Range<usize>, vars: &[String]| -> bool {
        range.into_iter().any(|k| match t.word(k) {
            Some(w) => {
                let l = w.to_ascii_lowercase();
                matches!(
                    l.as_str(),
                    "exists" | "select" | "found" | "information_schema"
                ) || l.starts_with("pg_")
                    || l.starts_with("to_reg")
                    || vars.contains(&l)
            }
            None => false,
        })
    };
    let end_of_stmt = |from: usize| -> usize {
        let mut depth = 0usize;
        let mut j = from;
        while j < n {
            if t.punct(j, "(") {
                depth += 1;
            } else if t.punct(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && t.kind(j) == Some(TokenKind::Semicolon) {
                return j;
            }
            j += 1;
        }
        n
    };
    let find_word =
        |from: usize, w: &str| -> usize { t.find_depth0(from, n, |k| t.kw(k, w)).unwrap_or(n) };
    let mut i = 0;
    while i < n {
        if t.kind(i) == Some(TokenKind::Semicolon) {
            i += 1;
            continue;
        }
        if t.punct(i, "<<") {
            // <<label>>
            let mut j = i + 1;
            while j < n && !t.punct(j, ">>") {
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let Some(w) = t.word(i) else {
            i = end_of_stmt(i) + 1;
            continue;
        };
        let w = Upper::new(w);
        match w.as_str() {
            "DECLARE" => {
                // Declarations up to BEGIN.
                let mut j = i + 1;
                while j < n && !t.kw(j, "BEGIN") {
                    j += 1;
                }
                i = j;
            }
            "BEGIN" => {
                stack.push(Frame::Block {
                    first: inner.len(),
                    handler: false,
                    in_handlers: false,
                });
                i += 1;
            }
            "EXCEPTION" if matches!(stack.last(), Some(Frame::Block { .. })) => {
                if let Some(Frame::Block { in_handlers, .. }) = stack.last_mut() {
                    *in_handlers = true;
                }
                i += 1;
            }
            "WHEN" => {
                let then = find_word(i + 1, "THEN");
                match stack.last_mut() {
                    Some(Frame::Block {
                        handler,
                        in_handlers: true,
                        ..
                    }) if (i + 1..then).any(|k| t.word(k).is_some_and(catches_second_run)) => {
                        *handler = true;
                    }
                    Some(Frame::Case { guard }) if is_guard_cond(i + 1..then, &state_vars) => {
                        *guard = true;
                    }
                    _ => {}
                }
                i = then + 1;
            }
            "END" => {
                let closes = t.word(i + 1).map(str::to_ascii_uppercase);
                match closes.as_deref() {
                    Some("IF") | Some("LOOP") | Some("CASE") => {
                        stack.pop();
                    }
                    _ => {
                        // Close the innermost block (and anything left open in it).
                        while let Some(f) = stack.pop() {
                            if let Frame::Block { first, handler, .. } = f {
                                if handler {
                                    for s in &mut inner[first..] {
                                        s.guarded = true;
                                    }
                                }
                                break;
                            }
                        }
                    }
                }
                i = end_of_stmt(i) + 1;
            }
            "IF" => {
                let then = find_word(i + 1, "THEN");
                stack.push(Frame::If {
                    guard: is_guard_cond(i + 1..then, &state_vars),
                });
                i = then + 1;
            }
            "ELSIF" | "ELSEIF" => {
                let then = find_word(i + 1, "THEN");
                let g = is_guard_cond(i + 1..then, &state_vars);
                if let Some(Frame::If { guard }) = stack.last_mut() {
                    *guard |= g;
                }
                i = then + 1;
            }
            "ELSE" => i += 1,
            "CASE" => {
                stack.push(Frame::Case { guard: false });
                // Up to the first WHEN.
                let mut j = i + 1;
                while j < n && !t.kw(j, "WHEN") {
                    j += 1;
                }
                i = j;
            }
            "LOOP" => {
                stack.push(Frame::Loop);
                i += 1;
            }
            "WHILE" | "FOR" | "FOREACH" => {
                let l = find_word(i + 1, "LOOP");
                stack.push(Frame::Loop);
                i = l + 1;
            }
            _ => {
                let end = end_of_stmt(i);
                if t.kw_any(i, SQL_STARTS) {
                    let slice = &toks[i..end];
                    let kind = classify_tokens(text, slice, dialect);
                    let guarded = stack.iter().any(|f| match f {
                        Frame::If { guard } | Frame::Case { guard } => *guard,
                        _ => false,
                    });
                    inner.push(Inner {
                        span: t.span_of(i..end),
                        tokens: i..end,
                        kind,
                        guarded,
                    });
                } else {
                    // `SELECT ... INTO v ...`, `v := (SELECT ...)`, `GET DIAGNOSTICS v = ...`.
                    let reads_state = (i..end)
                        .any(|k| t.kw_any(k, &["SELECT", "EXISTS", "PERFORM", "DIAGNOSTICS"]));
                    if reads_state {
                        if let Some(into) = (i..end).find(|&k| t.kw(k, "INTO")) {
                            let mut k = into + 1;
                            if t.kw(k, "STRICT") {
                                k += 1;
                            }
                            for r in t.split_commas(k, end) {
                                if let Some(v) = t.word(r.start) {
                                    state_vars.push(v.to_ascii_lowercase());
                                }
                            }
                        } else if t.punct(i + 1, ":=") || t.punct(i + 1, "=") {
                            if let Some(v) = t.word(i) {
                                state_vars.push(v.to_ascii_lowercase());
                            }
                        } else if t.kw(i, "GET") {
                            if let Some(v) = (i..end)
                                .find_map(|k| t.punct(k + 1, "=").then(|| t.word(k)).flatten())
                            {
                                state_vars.push(v.to_ascii_lowercase());
                            }
                        }
                    }
                }
                i = end + 1;
            }
        }
    }
    (toks, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sql: &str, d: Dialect) -> Kind {
        let toks = significant_tokens(sql, 0..sql.len(), d);
        classify_tokens(sql, &toks, d)
    }

    #[test]
    fn create_table_if_not_exists_with_comments() {
        let sql = "create /* x */ temp table if not exists \"Main\".T (a int)";
        let Kind::Create(c) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert_eq!(c.kind, ObjectKind::Table);
        assert!(c.temporary && c.if_not_exists);
        let n = c.name.unwrap();
        assert_eq!(n.parts, vec!["Main".to_string(), "t".to_string()]);
        assert_eq!(&sql[c.keyword_span], "table");
    }

    #[test]
    fn create_unique_index_concurrently_and_unnamed() {
        let sql = "CREATE UNIQUE INDEX CONCURRENTLY idx ON ONLY public.users (email)";
        let Kind::Create(c) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert!(c.unique && c.concurrently);
        assert_eq!(
            &sql[..c.if_not_exists_at],
            "CREATE UNIQUE INDEX CONCURRENTLY"
        );
        assert_eq!(c.table.unwrap().object(), "users");
        let Kind::Create(c) = kind("CREATE INDEX ON t (a)", Dialect::Postgres) else {
            panic!()
        };
        assert!(c.name.is_none());
        assert_eq!(c.table.unwrap().object(), "t");
    }

    #[test]
    fn mysql_definer_trigger() {
        let sql = "CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1";
        let Kind::Create(c) = kind(sql, Dialect::Mysql) else {
            panic!()
        };
        assert_eq!(c.kind, ObjectKind::Trigger);
        assert_eq!(c.name.unwrap().object(), "trg");
        assert_eq!(c.table.unwrap().object(), "t");
    }

    #[test]
    fn alter_table_every_action() {
        let sql = "ALTER TABLE IF EXISTS ONLY t ADD COLUMN IF NOT EXISTS a int, ADD b text, DROP COLUMN c, ADD CONSTRAINT k UNIQUE (a), ADD PRIMARY KEY (a), DROP CONSTRAINT IF EXISTS z, ALTER COLUMN a SET DEFAULT 1";
        let Kind::AlterTable(a) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert!(a.if_exists && a.only);
        assert_eq!(a.actions.len(), 7);
        assert!(matches!(
            &a.actions[0].op,
            AlterOp::AddColumn {
                if_not_exists: true,
                ..
            }
        ));
        assert!(
            matches!(&a.actions[1].op, AlterOp::AddColumn { name, if_not_exists: false, .. } if name.object() == "b")
        );
        assert!(matches!(
            &a.actions[2].op,
            AlterOp::DropColumn {
                if_exists: false,
                ..
            }
        ));
        assert!(
            matches!(&a.actions[3].op, AlterOp::AddConstraint { name: Some(n), constraint: ConstraintKind::Unique, .. } if n.object() == "k")
        );
        assert!(matches!(
            &a.actions[4].op,
            AlterOp::AddConstraint {
                name: None,
                constraint: ConstraintKind::PrimaryKey,
                ..
            }
        ));
        assert!(matches!(
            &a.actions[5].op,
            AlterOp::DropConstraint {
                if_exists: true,
                ..
            }
        ));
        assert!(matches!(&a.actions[6].op, AlterOp::AlterColumn { .. }));
    }

    #[test]
    fn renames() {
        let Kind::AlterTable(a) = kind("ALTER TABLE t RENAME a TO b", Dialect::Sqlite) else {
            panic!()
        };
        assert!(
            matches!(&a.actions[0].op, AlterOp::RenameColumn { from, to } if from.object() == "a" && to.object() == "b")
        );
        let Kind::RenameTables(p) = kind("RENAME TABLE a TO b, c TO d", Dialect::Mysql) else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        let Kind::AlterObject(o) = kind("ALTER INDEX IF EXISTS i RENAME TO j", Dialect::Postgres)
        else {
            panic!()
        };
        assert!(o.if_exists);
        assert!(matches!(o.op, AlterObjectOp::RenameTo { .. }));
    }

    #[test]
    fn inserts_and_guards() {
        let Kind::Insert(i) = kind(
            "WITH s AS (SELECT 1) INSERT OR IGNORE INTO t (a) SELECT x FROM s",
            Dialect::Sqlite,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::OrIgnore);
        assert_eq!(i.source, InsertSource::Select);
        let Kind::Insert(i) = kind(
            "INSERT INTO t (a, b) SELECT 1, 2 WHERE NOT EXISTS (SELECT 1 FROM t WHERE a = 1)",
            Dialect::Postgres,
        ) else {
            panic!()
        };
        assert!(i.anti_join);
        let Kind::Insert(i) = kind(
            "INSERT INTO t AS x (id, n) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET n = x.n + 1 WHERE x.n < 5 RETURNING id",
            Dialect::Postgres,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::DoUpdate);
        assert_eq!(i.alias.as_deref(), Some("x"));
        assert_eq!(i.columns, vec!["id", "n"]);
        assert_eq!(i.first_row.len(), 2);
        assert_eq!(i.update.len(), 1);
        assert!(i.update_where.is_some());
        let Kind::Insert(i) = kind(
            "INSERT IGNORE INTO t VALUES (1) ON DUPLICATE KEY UPDATE n = n + 1",
            Dialect::Mysql,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::DuplicateKeyUpdate);
    }

    #[test]
    fn update_assignments_and_where() {
        let sql = "UPDATE accounts a SET balance = a.balance * 1.05, (x, y) = (1, 2) FROM b WHERE NOT migrated";
        let Kind::Update(u) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert_eq!(u.alias.as_deref(), Some("a"));
        assert_eq!(u.assignments.len(), 2);
        assert_eq!(u.assignments[1].columns, vec!["x", "y"]);
        assert!(u.where_range.is_some());
    }

    #[test]
    fn do_block_guards() {
        let sql = "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN\n    CREATE TYPE mood AS ENUM ('a');\n  END IF;\n  CREATE TABLE x (a int);\n  BEGIN\n    ALTER TABLE x ADD CONSTRAINT k UNIQUE (a);\n  EXCEPTION WHEN duplicate_object THEN NULL;\n  END;\nEND $$";
        let Kind::Do(d) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        let g: Vec<(bool, &str)> = d
            .inner
            .iter()
            .map(|s| (s.guarded, &sql[s.span.clone()]))
            .collect();
        assert_eq!(g.len(), 3, "{g:?}");
        assert!(g[0].0 && g[0].1.starts_with("CREATE TYPE"));
        assert!(!g[1].0 && g[1].1 == "CREATE TABLE x (a int)");
        assert!(g[2].0 && g[2].1.starts_with("ALTER TABLE"));
    }

    #[test]
    fn transactions_pragmas_and_unknowns() {
        assert!(matches!(
            kind("BEGIN IMMEDIATE", Dialect::Sqlite),
            Kind::Transaction(Transaction::Begin)
        ));
        assert!(matches!(
            kind("ROLLBACK TO SAVEPOINT a", Dialect::Sqlite),
            Kind::Transaction(Transaction::RollbackTo)
        ));
        let Kind::Pragma(p) = kind("PRAGMA main.foreign_keys = ON", Dialect::Sqlite) else {
            panic!()
        };
        assert_eq!(p.name, "foreign_keys");
        assert_eq!(p.value.as_deref(), Some("ON"));
        assert!(matches!(
            kind("frobnicate x", Dialect::Sqlite),
            Kind::Unknown
        ));
        assert!(matches!(kind("", Dialect::Sqlite), Kind::Unknown));
    }
}
