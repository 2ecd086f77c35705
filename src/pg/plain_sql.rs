//! Plain-SQL dumps (`pg_dump > kong.sql`, or gzip'ed `.sql.gz`) restored as SQL only, never
//! through psql: a lexer that follows psql's (quotes, `E''` strings, dollar quoting, comments,
//! parentheses, COPY data) splits the file into statements, which are sent over the protocol,
//! COPY data streamed with `COPY … FROM STDIN`. Nothing in such a file can run a shell
//! command or read a file: psql meta-commands other than the ones pg_dump writes (`\connect`,
//! `\restrict`/`\unrestrict`, COPY's `\.` terminator) and COPY to or from anything but STDIN
//! are refused by [`scan`] before anything runs. Knows nothing about Kong.
//!
//! Like `pg_restore --no-owner` for the other formats, ownership is not restored (`ALTER …
//! OWNER TO`, `SET SESSION AUTHORIZATION`); grants (`GRANT`, `REVOKE`, `ALTER DEFAULT
//! PRIVILEGES`) are, when the caller has made every role they name ([`Scan::roles`]) exist,
//! and are skipped otherwise. What `pg_dump --create` adds around the
//! database itself (`CREATE`/`ALTER`/`DROP DATABASE`, `\connect`) is skipped: the restore
//! stays in the target database.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::{Bytes, BytesMut};
use futures_util::SinkExt;

use crate::error::{describe_pg_error, Error, Result};
use crate::pg::conn::ConnSpec;

/// The meta-commands pg_dump 15, 16 and 17 write in plain format: `\connect` (with
/// `--create`), and `\restrict KEY` / `\unrestrict KEY` (from 17.6, 16.10, 15.14 on). COPY's
/// `\.` terminator is data, not a command.
pub const PG_DUMP_META_COMMANDS: &[&str] = &["connect", "restrict", "unrestrict"];

/// Whether the file starts with gzip's magic bytes.
pub fn is_gzip(path: &Path) -> Result<bool> {
    let mut head = [0u8; 2];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(n == 2 && head == [0x1f, 0x8b])
}

/// The file's bytes, uncompressed through `gzip -dc` when it is gzip'ed.
struct Input {
    reader: Box<dyn BufRead + Send>,
    child: Option<std::process::Child>,
}

impl Input {
    fn open(path: &Path) -> Result<Self> {
        if is_gzip(path)? {
            let mut child = Command::new("gzip")
                .arg("-dc")
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| Error::io("cannot run gzip -dc on", path, e))?;
            let out = child
                .stdout
                .take()
                .ok_or_else(|| Error::Internal("gzip was started without a stdout pipe".into()))?;
            return Ok(Input {
                reader: Box::new(BufReader::with_capacity(1 << 16, out)),
                child: Some(child),
            });
        }
        let f = std::fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        Ok(Input {
            reader: Box::new(BufReader::with_capacity(1 << 16, f)),
            child: None,
        })
    }

    /// Waits for gzip: a corrupt or truncated `.gz` is an error, never a shorter dump.
    fn close(mut self, path: &Path) -> Result<()> {
        drop(self.reader);
        if let Some(child) = self.child.take() {
            let out = child
                .wait_with_output()
                .map_err(|e| Error::io("cannot wait for gzip on", path, e))?;
            if !out.status.success() {
                return Err(Error::ExternalTool {
                    tool: "gzip -dc".into(),
                    status: out.status.to_string(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    fix: "the compressed dump does not decode (corrupt or truncated): copy it again from the original",
                });
            }
        }
        Ok(())
    }
}

/// The first `n` bytes of the file, uncompressed when it is gzip'ed (to tell what it is).
pub fn head(path: &Path, n: usize) -> Result<Vec<u8>> {
    let mut input = Input::open(path)?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = input
            .reader
            .read(&mut buf[got..])
            .map_err(|e| Error::io("cannot read", path, e))?;
        if k == 0 {
            break;
        }
        got += k;
    }
    buf.truncate(got);
    if let Some(mut child) = input.child.take() {
        // Only the head was wanted: gzip's exit status says nothing about the file here.
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(buf)
}

/// One piece of a plain-SQL dump.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A statement, with the line it starts on; `bare` is its text outside quotes and
    /// comments at parenthesis depth 0, upper-cased with whitespace folded, for classifying.
    Sql {
        text: String,
        bare: String,
        line: usize,
    },
    /// A psql meta-command (`\name args`).
    Meta {
        name: String,
        args: String,
        line: usize,
    },
    /// One line of COPY data, newline included.
    CopyData(Vec<u8>),
    CopyEnd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Quote {
    None,
    /// `'…'` with standard_conforming_strings on (pg_dump sets it): backslash is literal.
    Single,
    /// `E'…'`: backslash escapes the next character.
    Escape,
    Ident,
    Dollar(Vec<u8>),
    Block(u32),
}

/// psql's lexer, as far as statement boundaries, meta-commands and COPY data go.
struct Lexer<R: BufRead> {
    r: R,
    line_no: usize,
    buf: Vec<u8>,
    bare: Vec<u8>,
    stmt_line: usize,
    /// Whether the statement in `buf` has begun (comments before it do not count).
    started: bool,
    quote: Quote,
    depth: i32,
    in_copy: bool,
    out: std::collections::VecDeque<Item>,
    done: bool,
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl<R: BufRead> Lexer<R> {
    fn new(r: R) -> Self {
        Lexer {
            r,
            line_no: 0,
            buf: vec![],
            bare: vec![],
            stmt_line: 1,
            started: false,
            quote: Quote::None,
            depth: 0,
            in_copy: false,
            out: Default::default(),
            done: false,
        }
    }

    fn next_item(&mut self) -> Result<Option<Item>> {
        loop {
            if let Some(i) = self.out.pop_front() {
                return Ok(Some(i));
            }
            if self.done {
                return Ok(None);
            }
            let mut line = Vec::new();
            let n = self
                .r
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io("cannot read the SQL dump", "<input>", e))?;
            if n == 0 {
                self.done = true;
                if self.in_copy {
                    return Err(Error::Usage(format!(
                        "the SQL dump ends inside COPY data (no `\\.` line after line {}): it is \
                         truncated; take or copy the backup again",
                        self.line_no
                    )));
                }
                self.flush()?;
                continue;
            }
            self.line_no += 1;
            if self.in_copy {
                let body = line
                    .strip_suffix(b"\n")
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .unwrap_or(&line);
                if body == b"\\." {
                    self.in_copy = false;
                    self.out.push_back(Item::CopyEnd);
                } else {
                    self.out.push_back(Item::CopyData(line));
                }
                continue;
            }
            self.lex_line(&line)?;
        }
    }

    fn push(&mut self, c: u8, bare: bool) {
        if !self.started && !c.is_ascii_whitespace() {
            self.started = true;
            self.stmt_line = self.line_no;
        }
        self.buf.push(c);
        if bare && self.depth <= 0 {
            self.bare.push(c.to_ascii_uppercase());
        }
    }

    fn lex_line(&mut self, line: &[u8]) -> Result<()> {
        let mut i = 0;
        let at = |j: usize| line.get(j).copied();
        while i < line.len() {
            let c = line[i];
            match &self.quote {
                Quote::None => match c {
                    b'-' if at(i + 1) == Some(b'-') => {
                        // A comment runs to the end of the line.
                        self.buf.extend_from_slice(&line[i..]);
                        self.bare.push(b' ');
                        return Ok(());
                    }
                    b'/' if at(i + 1) == Some(b'*') => {
                        self.quote = Quote::Block(1);
                        self.buf.extend_from_slice(b"/*");
                        self.bare.push(b' ');
                        i += 2;
                        continue;
                    }
                    b'\'' => {
                        let n = self.buf.len();
                        let e_prefix = n >= 1
                            && matches!(self.buf[n - 1], b'E' | b'e')
                            && (n == 1 || !ident_char(self.buf[n - 2]));
                        self.quote = if e_prefix {
                            Quote::Escape
                        } else {
                            Quote::Single
                        };
                        self.push(c, false);
                        self.bare.extend_from_slice(b" '' ");
                    }
                    b'"' => {
                        self.quote = Quote::Ident;
                        self.push(c, false);
                        self.bare.extend_from_slice(b" \"\" ");
                    }
                    b'$' if self.buf.last().is_none_or(|p| !ident_char(*p)) => {
                        let mut j = i + 1;
                        while j < line.len() && line[j] != b'$' && ident_char(line[j]) {
                            j += 1;
                        }
                        let tag_ok =
                            at(j) == Some(b'$') && (j == i + 1 || !line[i + 1].is_ascii_digit());
                        if tag_ok {
                            let tag = line[i..=j].to_vec();
                            for &b in &tag {
                                self.push(b, false);
                            }
                            self.bare.extend_from_slice(b" $$ ");
                            self.quote = Quote::Dollar(tag);
                            i = j + 1;
                            continue;
                        }
                        self.push(c, true);
                    }
                    b'(' => {
                        self.push(c, true);
                        self.depth += 1;
                    }
                    b')' => {
                        self.depth -= 1;
                        self.push(c, true);
                    }
                    b';' if self.depth <= 0 => {
                        self.push(c, true);
                        self.flush()?;
                        if self.in_copy && line[i + 1..].iter().any(|b| !b.is_ascii_whitespace()) {
                            return Err(Error::Usage(format!(
                                "line {}: text follows `COPY … FROM stdin;` on the same line, \
                                 which pg_dump never writes; refusing to guess where the data \
                                 starts",
                                self.line_no
                            )));
                        }
                        if self.in_copy {
                            return Ok(());
                        }
                    }
                    b'\\' => {
                        // A meta-command: psql takes the rest of the line as its arguments.
                        let mut j = i + 1;
                        if at(j).is_some_and(|b| b.is_ascii_alphabetic()) {
                            while at(j).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                                j += 1;
                            }
                        } else if j < line.len() {
                            j += 1;
                        }
                        let name = String::from_utf8_lossy(&line[i + 1..j]).into_owned();
                        let args = String::from_utf8_lossy(&line[j..]).trim().to_string();
                        self.out.push_back(Item::Meta {
                            name,
                            args,
                            line: self.line_no,
                        });
                        return Ok(());
                    }
                    _ => self.push(
                        c,
                        !c.is_ascii_whitespace() || self.bare.last() != Some(&b' '),
                    ),
                },
                Quote::Single | Quote::Ident => {
                    let close = if self.quote == Quote::Ident {
                        b'"'
                    } else {
                        b'\''
                    };
                    self.push(c, false);
                    if c == close {
                        if at(i + 1) == Some(close) {
                            self.push(close, false);
                            i += 2;
                            continue;
                        }
                        self.quote = Quote::None;
                    }
                }
                Quote::Escape => {
                    self.push(c, false);
                    if c == b'\\' {
                        if let Some(n) = at(i + 1) {
                            self.push(n, false);
                            i += 2;
                            continue;
                        }
                    } else if c == b'\'' {
                        if at(i + 1) == Some(b'\'') {
                            self.push(b'\'', false);
                            i += 2;
                            continue;
                        }
                        self.quote = Quote::None;
                    }
                }
                Quote::Dollar(tag) => {
                    if line[i..].starts_with(tag) {
                        let tag = tag.clone();
                        for &b in &tag {
                            self.push(b, false);
                        }
                        self.quote = Quote::None;
                        i += tag.len();
                        continue;
                    }
                    self.push(c, false);
                }
                Quote::Block(d) => {
                    let d = *d;
                    if c == b'*' && at(i + 1) == Some(b'/') {
                        self.buf.extend_from_slice(b"*/");
                        self.quote = if d == 1 {
                            Quote::None
                        } else {
                            Quote::Block(d - 1)
                        };
                        i += 2;
                        continue;
                    }
                    if c == b'/' && at(i + 1) == Some(b'*') {
                        self.buf.extend_from_slice(b"/*");
                        self.quote = Quote::Block(d + 1);
                        i += 2;
                        continue;
                    }
                    self.buf.push(c);
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Ends the statement in the buffer (at `;`, or at the end of the file).
    fn flush(&mut self) -> Result<()> {
        let text = std::mem::take(&mut self.buf);
        let bare = std::mem::take(&mut self.bare);
        self.depth = 0;
        self.started = false;
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        let text = String::from_utf8(text).map_err(|_| {
            Error::Usage(format!(
                "the statement at line {} of the SQL dump is not UTF-8; dump with \
                 `pg_dump --encoding=UTF8`",
                self.stmt_line
            ))
        })?;
        let bare = String::from_utf8_lossy(&bare)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let bare = bare.trim_end_matches(';').trim().to_string();
        if bare.is_empty() {
            // Comments only: nothing for the server to run.
            return Ok(());
        }
        if copy_from_stdin(&bare) {
            self.in_copy = true;
        }
        self.out.push_back(Item::Sql {
            text,
            bare,
            line: self.stmt_line,
        });
        Ok(())
    }
}

fn words(bare: &str) -> Vec<&str> {
    bare.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect()
}

fn copy_from_stdin(bare: &str) -> bool {
    let w = words(bare);
    w.first() == Some(&"COPY") && w.windows(2).any(|p| p == ["FROM", "STDIN"])
}

/// What the restore does with one statement.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Run,
    Copy,
    /// GRANT, REVOKE, ALTER DEFAULT PRIVILEGES: run only when grants are restored.
    Grant,
    Skip(&'static str),
}

fn classify(bare: &str) -> std::result::Result<Action, String> {
    let w = words(bare);
    let first = w.first().copied().unwrap_or("");
    if first == "COPY" {
        if w.contains(&"PROGRAM") {
            return Err("`COPY … PROGRAM` runs a shell command on the server".into());
        }
        if copy_from_stdin(bare) {
            return Ok(Action::Copy);
        }
        return Err(
            "COPY to or from anything but STDIN reads or writes files on the server; pg_dump \
             writes only `COPY … FROM stdin`"
                .into(),
        );
    }
    let two = w.get(1).copied().unwrap_or("");
    Ok(match (first, two) {
        ("GRANT" | "REVOKE", _) => Action::Grant,
        ("ALTER", "DEFAULT") => Action::Grant,
        ("ALTER", _) if bare.contains(" OWNER TO ") => Action::Skip("ownership is not restored"),
        ("SET", "SESSION") if bare.starts_with("SET SESSION AUTHORIZATION") => {
            Action::Skip("ownership is not restored")
        }
        ("CREATE" | "ALTER" | "DROP" | "COMMENT", "DATABASE") => {
            Action::Skip("the restore stays in the target database")
        }
        ("COMMENT", "ON") if w.get(2) == Some(&"DATABASE") => {
            Action::Skip("the restore stays in the target database")
        }
        _ => Action::Run,
    })
}

/// Something in a plain-SQL dump that is not plain SQL, by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub what: String,
}

impl Refusal {
    pub fn describe(&self) -> String {
        format!("line {}: {}", self.line, self.what)
    }
}

fn refusal(item: &Item) -> Option<Refusal> {
    match item {
        Item::Meta { name, args, line } if !PG_DUMP_META_COMMANDS.contains(&name.as_str()) => {
            let shown: String = args.chars().take(80).collect();
            Some(Refusal {
                line: *line,
                what: format!(
                    "the psql meta-command `\\{name}{}{shown}`, which pg_dump never writes (it \
                     would run inside psql: `\\!` runs a shell command, `\\i` reads a file, \
                     `\\copy … program` runs a program)",
                    if shown.is_empty() { "" } else { " " }
                ),
            })
        }
        Item::Sql { bare, line, .. } => classify(bare)
            .err()
            .map(|what| Refusal { line: *line, what }),
        _ => None,
    }
}

/// What one read of a dump found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Everything that is not plain SQL, by line; a dump with any is never run.
    pub refusals: Vec<Refusal>,
    /// The roles its grant statements name (`pg::acl`).
    pub roles: std::collections::BTreeSet<String>,
    /// (schema, table) → owner, from its `ALTER TABLE … OWNER TO` (none with `--no-owner`).
    pub owners: std::collections::BTreeMap<(String, String), String>,
}

/// Reads the whole dump and lists everything that is not plain SQL (meta-commands other than
/// pg_dump's, COPY with PROGRAM or a server file) and the roles its grants name. Runs nothing.
pub fn scan(path: &Path) -> Result<Scan> {
    let mut input = Input::open(path)?;
    let mut lx = Lexer::new(&mut input.reader);
    let mut out = Scan::default();
    while let Some(item) = lx.next_item()? {
        out.refusals.extend(refusal(&item));
        if let Item::Sql { bare, text, .. } = &item {
            if classify(bare) == Ok(Action::Grant) {
                out.roles.extend(crate::pg::acl::roles_in(text));
            } else if bare.starts_with("ALTER TABLE ") {
                if let Some((schema, table, owner)) = crate::pg::acl::table_owner(text) {
                    out.owners.insert((schema, table), owner);
                }
            }
        }
    }
    drop(lx);
    input.close(path)?;
    Ok(out)
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub statements: u64,
    pub copy_rows: u64,
    /// Statements not run (ownership, grants, the database itself), by reason.
    pub skipped: std::collections::BTreeMap<&'static str, u64>,
}

/// Restores a plain-SQL dump into `target`, stopping at the first error (psql's
/// `ON_ERROR_STOP`); grants too with `privileges`. [`scan`] runs first: a dump with anything
/// but SQL is refused whole (`Error::Usage`, listing each offending line) and nothing runs.
pub async fn restore(path: &Path, target: &ConnSpec, privileges: bool) -> Result<Restored> {
    let refused = scan(path)?.refusals;
    if !refused.is_empty() {
        return Err(Error::Usage(refused_message(path, &refused)));
    }
    let client = target.connect().await?;
    let mut input = Input::open(path)?;
    let mut lx = Lexer::new(&mut input.reader);
    let mut done = Restored::default();
    let failed = |line: usize, text: &str, e: &tokio_postgres::Error| Error::ExternalTool {
        tool: "plain-SQL restore".into(),
        status: format!("stopped at line {line}"),
        stderr: format!(
            "{} in `{}`",
            describe_pg_error(e),
            text.trim().chars().take(200).collect::<String>()
        ),
        fix: "the SQL dump does not restore cleanly; see the first error",
    };
    while let Some(item) = lx.next_item()? {
        match item {
            Item::Sql { text, bare, line } => match classify(&bare) {
                Ok(Action::Grant) if !privileges => {
                    *done.skipped.entry("grants are not restored").or_default() += 1
                }
                Ok(Action::Run | Action::Grant) => {
                    client
                        .batch_execute(&text)
                        .await
                        .map_err(|e| failed(line, &text, &e))?;
                    done.statements += 1;
                }
                Ok(Action::Skip(why)) => *done.skipped.entry(why).or_default() += 1,
                Ok(Action::Copy) => {
                    let sink = client
                        .copy_in::<_, Bytes>(text.as_str())
                        .await
                        .map_err(|e| failed(line, &text, &e))?;
                    let mut sink = Box::pin(sink);
                    let mut chunk = BytesMut::with_capacity(1 << 16);
                    loop {
                        match lx.next_item()? {
                            Some(Item::CopyData(d)) => {
                                done.copy_rows += 1;
                                chunk.extend_from_slice(&d);
                                if chunk.len() >= 1 << 16 {
                                    sink.send(chunk.split().freeze())
                                        .await
                                        .map_err(|e| failed(line, &text, &e))?;
                                }
                            }
                            Some(Item::CopyEnd) => break,
                            other => {
                                return Err(Error::Internal(format!(
                                    "the SQL lexer left COPY data with {other:?}"
                                )))
                            }
                        }
                    }
                    if !chunk.is_empty() {
                        sink.send(chunk.freeze())
                            .await
                            .map_err(|e| failed(line, &text, &e))?;
                    }
                    sink.as_mut()
                        .finish()
                        .await
                        .map_err(|e| failed(line, &text, &e))?;
                    done.statements += 1;
                }
                Err(what) => {
                    return Err(Error::Internal(format!(
                        "line {line} passed the scan but is refused now: {what}"
                    )))
                }
            },
            // pg_dump's own: `\connect` (the restore stays in the target database) and the
            // `\restrict` key that guards psql, which is not used here.
            Item::Meta { .. } => {}
            Item::CopyData(_) | Item::CopyEnd => {
                return Err(Error::Internal("COPY data outside a COPY statement".into()))
            }
        }
    }
    drop(lx);
    input.close(path)?;
    Ok(done)
}

/// The refusal, as one message naming every offending line.
pub fn refused_message(path: &Path, refused: &[Refusal]) -> String {
    format!(
        "{} is not plain SQL, so nothing of it was run: {}. A backup must contain nothing but \
         SQL; take it again with `pg_dump` (plain format writes only SQL, COPY … FROM stdin \
         data, `\\connect` and `\\restrict`), or use `pg_dump -Fc`",
        path.display(),
        refused
            .iter()
            .take(5)
            .map(Refusal::describe)
            .collect::<Vec<_>>()
            .join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(sql: &str) -> Vec<Item> {
        let mut lx = Lexer::new(sql.as_bytes());
        let mut out = vec![];
        while let Some(i) = lx.next_item().unwrap() {
            out.push(i);
        }
        out
    }

    fn refusals(sql: &str) -> Vec<Refusal> {
        items(sql).iter().filter_map(refusal).collect()
    }

    #[test]
    fn pg_dump_output_is_accepted() {
        let sql = "\\restrict abc123\n--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\n\
            SELECT pg_catalog.set_config('search_path', '', false);\n\
            CREATE FUNCTION public.f() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n  RAISE NOTICE 'a;b \\! no';\nEND;\n$$;\n\
            ALTER FUNCTION public.f() OWNER TO kong;\n\
            COPY public.t (id, paths) FROM stdin;\n1\t{/a\\\\d+}\n2\t\\N\n\\.\n\
            GRANT ALL ON SCHEMA public TO kong;\n\\connect kong\n\\unrestrict abc123\n";
        assert_eq!(refusals(sql), []);
        let it = items(sql);
        let sql_items: Vec<&str> = it
            .iter()
            .filter_map(|i| match i {
                Item::Sql { bare, .. } => Some(bare.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(sql_items.len(), 6, "{sql_items:#?}");
        assert!(it.contains(&Item::CopyData(b"2\t\\N\n".to_vec())));
        assert_eq!(
            classify(sql_items[3]),
            Ok(Action::Skip("ownership is not restored"))
        );
        assert_eq!(classify(sql_items[4]), Ok(Action::Copy));
    }

    #[test]
    fn anything_but_sql_is_refused() {
        for (sql, line) in [
            ("\\! touch /tmp/x\n", 1),
            ("SELECT 1;\n\\i /etc/passwd\n", 2),
            ("SELECT 1; \\copy t from program 'id'\n", 1),
            ("SELECT 'x' \\! touch /tmp/x\n;", 1),
            ("COPY t FROM PROGRAM 'touch /tmp/x';\n", 1),
            ("COPY t FROM '/etc/passwd';\n", 1),
            ("COPY t TO STDOUT;\n", 1),
            ("SELECT E'\\'' ; \\! id\n", 1),
        ] {
            let r = refusals(sql);
            assert_eq!(r.len(), 1, "{sql:?}: {r:?}");
            assert_eq!(r[0].line, line, "{sql:?}");
        }
        // Inside quotes and comments a backslash is no command.
        for sql in [
            "SELECT '\\! no';\n",
            "SELECT $tag$ \\! no $tag$;\n",
            "-- \\! no\nSELECT 1;\n",
            "/* \\! /* nested */ no */ SELECT 1;\n",
            "SELECT \"a\\!\";\n",
        ] {
            assert_eq!(refusals(sql), [], "{sql:?}");
        }
    }
}
