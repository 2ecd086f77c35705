//! Splitting Kong's migration SQL into statements, so a failure names the exact statement
//! and progress can count them. sqlparser's PostgreSQL tokenizer knows dollar quoting
//! (`DO $$ ... $$`), string literals and comments, so a `;` inside them is not a boundary.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// Statements of `sql` in order, each ending with its `;` (the last may lack one), with
/// comment-only and empty pieces dropped. Falls back to the whole text as one statement if
/// the tokenizer cannot read it (PostgreSQL will then report the error itself).
pub fn split_statements(sql: &str) -> Vec<String> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return non_empty(vec![sql.to_string()]);
    };
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: u64, col: u64| -> usize {
        let start = line_starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(sql.len());
        let rest = &sql[start..];
        start
            + rest
                .char_indices()
                .nth(col.saturating_sub(1) as usize)
                .map(|(i, _)| i)
                .unwrap_or(rest.len())
    };
    let mut out = vec![];
    let mut begin = 0;
    let mut meaningful = false;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                let end = offset(t.span.start.line, t.span.start.column) + 1;
                if meaningful {
                    out.push(sql[begin..end].trim().to_string());
                }
                begin = end;
                meaningful = false;
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => meaningful = true,
        }
    }
    if meaningful {
        out.push(sql[begin..].trim().to_string());
    }
    out
}

fn non_empty(v: Vec<String>) -> Vec<String> {
    v.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// True when the text holds nothing but whitespace and comments.
pub fn is_blank(sql: &str) -> bool {
    let dialect = PostgreSqlDialect {};
    match Tokenizer::new(&dialect, sql).tokenize() {
        Ok(tokens) => tokens.iter().all(|t| {
            matches!(
                t,
                Token::Whitespace(
                    Whitespace::Space
                        | Whitespace::Newline
                        | Whitespace::Tab
                        | Whitespace::SingleLineComment { .. }
                        | Whitespace::MultiLineComment(_)
                ) | Token::EOF
            )
        }),
        Err(_) => sql.trim().is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_quotes_strings_and_comments_hide_semicolons() {
        let sql = "-- a comment; not a boundary\nCREATE TABLE a (x text DEFAULT 'a;b');\n\
                   DO $$\nBEGIN\n  ALTER TABLE a ADD y int;\nEXCEPTION WHEN duplicate_column THEN\nEND;\n$$;\n\
                   /* trailing; comment */ SELECT 'it''s';";
        let s = split_statements(sql);
        assert_eq!(s.len(), 3, "{s:#?}");
        assert!(s[0].starts_with("-- a comment") && s[0].ends_with("'a;b');"));
        assert!(s[1].starts_with("DO $$") && s[1].ends_with("$$;"));
        assert!(s[2].ends_with("SELECT 'it''s';"));
    }

    #[test]
    fn blank_text() {
        assert!(is_blank("  -- nothing\n/* here */\n"));
        assert!(!is_blank("SELECT 1"));
        assert!(split_statements("-- only a comment\n").is_empty());
    }

    #[test]
    fn every_lts_migration_splits() {
        let cat = crate::kong::lts::LtsCatalog::load().unwrap();
        let mut n = 0;
        for sub in &cat.subsystems {
            for step in &sub.sequence {
                for rel in step.up.iter().chain(&step.teardown) {
                    let sql = cat.sql(rel).unwrap();
                    for st in split_statements(&sql) {
                        assert!(!is_blank(&st), "{rel}: blank statement");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 30, "{n} statements");
    }
}
