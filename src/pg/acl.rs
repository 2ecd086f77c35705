//! The roles a dump's grants name (`GRANT … TO`, `REVOKE … FROM`, `ALTER DEFAULT PRIVILEGES
//! FOR ROLE`, `GRANTED BY`, `SET SESSION AUTHORIZATION`), read from the SQL pg_dump writes for
//! them. A restore that carries grants needs every one of those roles to exist first: the
//! throwaway has none of production's. Knows nothing about Kong.

use std::collections::BTreeSet;

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// An unquoted word, upper-cased (keywords and unquoted names fold alike).
    Word(String),
    /// A double-quoted identifier, exactly as written.
    Quoted(String),
    Punct(char),
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = vec![];
    let mut it = sql.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(c) = it.next() {
                    if c == '"' {
                        if it.peek() == Some(&'"') {
                            it.next();
                            s.push('"');
                            continue;
                        }
                        break;
                    }
                    s.push(c);
                }
                out.push(Token::Quoted(s));
            }
            '\'' => {
                // A string literal (never a role name here): skipped whole.
                while let Some(c) = it.next() {
                    if c == '\'' {
                        if it.peek() == Some(&'\'') {
                            it.next();
                            continue;
                        }
                        break;
                    }
                }
            }
            '-' if it.peek() == Some(&'-') => {
                for c in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut s = String::from(c);
                while let Some(&n) = it.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '$' {
                        s.push(n);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(s));
            }
            c if c.is_whitespace() => {}
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

/// Names that are not roles where a role may stand.
const NOT_ROLES: &[&str] = &[
    "PUBLIC",
    "CURRENT_USER",
    "SESSION_USER",
    "CURRENT_ROLE",
    "GROUP",
];

/// A role name as PostgreSQL stores it: quoted names exactly, unquoted ones folded to lower
/// case.
fn role_at(t: &Token) -> Option<String> {
    match t {
        Token::Quoted(s) => Some(s.clone()),
        Token::Word(w) if !NOT_ROLES.contains(&w.to_ascii_uppercase().as_str()) => {
            Some(w.to_lowercase())
        }
        _ => None,
    }
}

fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.eq_ignore_ascii_case(w))
}

/// Every role named in `sql` (pg_dump's grant statements), as stored in `pg_roles`.
pub fn roles_in(sql: &str) -> BTreeSet<String> {
    let toks = tokens(sql);
    let mut out = BTreeSet::new();
    // One statement at a time: what a keyword means depends on how the statement begins.
    for stmt in toks.split(|t| *t == Token::Punct(';')) {
        let first = match stmt.first() {
            Some(Token::Word(w)) => w.to_ascii_uppercase(),
            _ => continue,
        };
        // The keyword after which a list of roles starts.
        let list_after: &[&str] = match first.as_str() {
            "GRANT" => &["TO", "BY"],
            "REVOKE" => &["FROM", "BY"],
            "ALTER" => &["ROLE", "USER", "TO", "FROM"],
            "SET" if is_word(stmt.get(1), "SESSION") => &["AUTHORIZATION"],
            "SET" if is_word(stmt.get(1), "ROLE") => &["ROLE"],
            _ => continue,
        };
        if first == "ALTER" && !is_word(stmt.get(1), "DEFAULT") {
            continue;
        }
        let mut i = 0;
        while i < stmt.len() {
            let starts = matches!(&stmt[i], Token::Word(w)
                if list_after.iter().any(|k| w.eq_ignore_ascii_case(k)));
            i += 1;
            if !starts {
                continue;
            }
            // `GRANT … TO a, b WITH GRANT OPTION`: names separated by commas.
            while let Some(t) = stmt.get(i) {
                match role_at(t) {
                    Some(r) => {
                        out.insert(r);
                    }
                    None if matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("GROUP")) => {
                        i += 1;
                        continue;
                    }
                    None => {}
                }
                i += 1;
                if stmt.get(i) == Some(&Token::Punct(',')) {
                    i += 1;
                    continue;
                }
                break;
            }
        }
    }
    out
}

/// `ALTER TABLE [ONLY] schema.table OWNER TO role` (as pg_dump writes it in plain format) →
/// (schema, table, role), names as stored.
pub fn table_owner(sql: &str) -> Option<(String, String, String)> {
    let t = tokens(sql);
    let name = |t: &Token| match t {
        Token::Quoted(s) => Some(s.clone()),
        Token::Word(w) => Some(w.to_lowercase()),
        Token::Punct(_) => None,
    };
    if !is_word(t.first(), "ALTER") || !is_word(t.get(1), "TABLE") {
        return None;
    }
    let mut i = 2;
    if is_word(t.get(i), "ONLY") {
        i += 1;
    }
    let schema = name(t.get(i)?)?;
    if t.get(i + 1) != Some(&Token::Punct('.')) {
        return None;
    }
    let table = name(t.get(i + 2)?)?;
    if !is_word(t.get(i + 3), "OWNER") || !is_word(t.get(i + 4), "TO") {
        return None;
    }
    Some((schema, table, role_at(t.get(i + 5)?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table_owners_are_read_from_plain_dumps() {
        let own = |a: &str, b: &str, c: &str| Some((a.into(), b.into(), c.into()));
        assert_eq!(
            table_owner("ALTER TABLE public.routes OWNER TO kong;"),
            own("public", "routes", "kong")
        );
        assert_eq!(
            table_owner("ALTER TABLE ONLY \"Kong\".\"my table\" OWNER TO \"Admin\";"),
            own("Kong", "my table", "Admin")
        );
        assert_eq!(
            table_owner("ALTER TABLE public.routes ADD COLUMN x int;"),
            None
        );
        assert_eq!(table_owner("ALTER SEQUENCE public.s OWNER TO kong;"), None);
    }

    #[test]
    fn pg_dump_grant_statements_name_their_roles() {
        let cases: &[(&str, &[&str])] = &[
            ("GRANT SELECT ON TABLE public.consumers TO reader;", &["reader"]),
            (
                "GRANT INSERT ON TABLE public.consumers TO reader WITH GRANT OPTION;",
                &["reader"],
            ),
            (
                "GRANT SELECT(username) ON TABLE public.consumers TO \"Odd Role\";",
                &["Odd Role"],
            ),
            ("REVOKE ALL ON FUNCTION public.f1() FROM PUBLIC;", &[]),
            ("GRANT ALL ON FUNCTION public.f1() TO reader, Auditor;", &["auditor", "reader"]),
            (
                "ALTER DEFAULT PRIVILEGES FOR ROLE kong IN SCHEMA public GRANT SELECT ON TABLES  TO reader;",
                &["kong", "reader"],
            ),
            (
                "SET SESSION AUTHORIZATION dba;\nGRANT SELECT ON TABLE public.t TO app;\nRESET SESSION AUTHORIZATION;",
                &["app", "dba"],
            ),
            ("GRANT USAGE ON SCHEMA public TO \"we\"\"ird\";", &["we\"ird"]),
            ("GRANT SELECT ON TABLE public.\"to\" TO CURRENT_USER;", &[]),
            ("GRANT SELECT ON TABLE public.t TO GROUP staff;", &["staff"]),
            ("-- GRANT SELECT ON t TO ghost\nSET statement_timeout = 0;", &[]),
            (
                "SELECT pg_catalog.set_config('search_path', '', false);",
                &[],
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(roles_in(sql), set(want), "{sql}");
        }
    }
}
