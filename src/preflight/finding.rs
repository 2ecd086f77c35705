//! The one finding type of every pre-flight check (database rows, declarative files,
//! kong.conf). The text, JSON, JUnit and Markdown renderers and `report::Problem` all take
//! this value; no check has a finding type of its own.

use serde::{Deserialize, Serialize};

use crate::report::{Kind, Problem};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops working or is rejected by Kong 3.4.
    Error,
    /// Works, differently.
    Warning,
    /// Worth a look; no change when the defaults match your intent (a notice).
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about, and where it is. Serialized flat into the finding, with an
/// `entity` tag (`route`, `plugin`, `file`, `setting`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "entity", rename_all = "lowercase")]
pub enum Entity {
    /// A row of `routes` (id, name, its service, and the field: `paths[2]`, `path_handling`).
    Route {
        id: String,
        name: Option<String>,
        scope: Option<String>,
        field: Option<String>,
    },
    /// A row of `plugins` (id, plugin name, where it is attached, `config.headers.X`).
    Plugin {
        id: String,
        name: Option<String>,
        scope: Option<String>,
        field: Option<String>,
    },
    /// A place in a declarative file: `services[0].routes[2].paths[0]` and its 1-based line.
    File {
        file: String,
        yaml_path: String,
        line: usize,
    },
    /// A kong.conf setting; `line` is `None` when the file does not set the key.
    Setting {
        file: String,
        key: String,
        line: Option<usize>,
    },
}

impl Entity {
    /// The row id of a route or plugin; `None` for a place in a file or a setting.
    pub fn id(&self) -> Option<&str> {
        match self {
            Entity::Route { id, .. } | Entity::Plugin { id, .. } => Some(id),
            Entity::File { .. } | Entity::Setting { .. } => None,
        }
    }

    /// Where in a route or plugin (`paths[2]`, `config.headers.X`); `None` for the whole row, a
    /// place in a file or a setting.
    pub fn field(&self) -> Option<&str> {
        match self {
            Entity::Route { field, .. } | Entity::Plugin { field, .. } => field.as_deref(),
            Entity::File { .. } | Entity::Setting { .. } => None,
        }
    }

    /// `routes <id>`, `plugins <id>`, `file:line`, `kong.conf:line key`.
    pub fn object(&self) -> String {
        match self {
            Entity::Route { id, .. } => format!("routes {id}"),
            Entity::Plugin { id, .. } => format!("plugins {id}"),
            Entity::File {
                file,
                yaml_path,
                line,
            } => format!("{file}:{line} {yaml_path}"),
            Entity::Setting { file, key, line } => match line {
                Some(l) => format!("{file}:{l} {key}"),
                None => format!("{file} {key}"),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id (`route-regex-incompatible`, `conf-removed-parameter`, …).
    pub kind: &'static str,
    pub severity: Severity,
    #[serde(flatten)]
    pub entity: Entity,
    pub message: String,
    /// One or more alternative fixes.
    pub fixes: Vec<String>,
    /// Where the rule comes from (Kong source file and tag, CHANGELOG entry, decK ruleset).
    pub source: String,
}

impl Finding {
    /// The fixes as one string: the only one, or `(1) … (2) …`.
    pub fn fix_text(&self) -> String {
        match self.fixes.len() {
            0 => String::new(),
            1 => self.fixes[0].clone(),
            _ => self
                .fixes
                .iter()
                .enumerate()
                .map(|(i, f)| format!("({}) {f}", i + 1))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The finding as a report problem of `kind` (runtime hazards: [`Kind::RuntimeHazard`]).
    pub fn to_problem(&self, kind: Kind) -> Problem {
        Problem::new(
            kind,
            format!(
                "[{} {}] {}",
                self.severity.as_str(),
                self.kind,
                self.message
            ),
        )
        .object(self.entity.object())
        .fix(self.fix_text())
    }

    /// `place: [severity kind] message`, then one `fix:` line per fix. Database rows are
    /// placed by table and id, files by `file:line: path`, settings by `file:line: key`.
    pub fn to_text(&self) -> String {
        let place = match &self.entity {
            Entity::Route { id, field, .. } | Entity::Plugin { id, field, .. } => {
                let table = if matches!(self.entity, Entity::Route { .. }) {
                    "routes"
                } else {
                    "plugins"
                };
                match field {
                    Some(f) => format!("{table} {id} {f}"),
                    None => format!("{table} {id}"),
                }
            }
            Entity::File {
                file,
                yaml_path,
                line,
            } => format!("{file}:{line}: {yaml_path}"),
            Entity::Setting { file, key, line } => match line {
                Some(l) => format!("{file}:{l}: {key}"),
                None => format!("{file}: {key}"),
            },
        };
        let mut s = format!(
            "{place}: [{} {}] {}",
            self.severity.as_str(),
            self.kind,
            self.message
        );
        for f in &self.fixes {
            s.push_str("\n    fix: ");
            s.push_str(f);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(entity: Entity) -> Finding {
        Finding {
            kind: "rule-x",
            severity: Severity::Warning,
            entity,
            message: "m".into(),
            fixes: vec!["a".into(), "b".into()],
            source: "s".into(),
        }
    }

    #[test]
    fn serializes_flat_with_an_entity_tag() {
        let v = serde_json::to_value(f(Entity::Setting {
            file: "kong.conf".into(),
            key: "pg_ssl".into(),
            line: Some(3),
        }))
        .unwrap();
        assert_eq!(v["entity"], "setting");
        assert_eq!(v["key"], "pg_ssl");
        assert_eq!(v["line"], 3);
        assert_eq!(v["kind"], "rule-x");
        assert_eq!(v["fixes"][1], "b");
    }

    #[test]
    fn text_and_problem_name_the_place() {
        let r = f(Entity::Route {
            id: "r1".into(),
            name: None,
            scope: None,
            field: Some("paths[0]".into()),
        });
        assert!(r
            .to_text()
            .starts_with("routes r1 paths[0]: [warning rule-x] m\n    fix: a"));
        let p = r.to_problem(Kind::RuntimeHazard);
        assert_eq!(p.object.as_deref(), Some("routes r1"));
        assert_eq!(p.fix, "(1) a (2) b");
        let d = f(Entity::File {
            file: "k.yaml".into(),
            yaml_path: "routes[0]".into(),
            line: 7,
        });
        assert!(d.to_text().starts_with("k.yaml:7: routes[0]: [warning"));
    }

    #[test]
    fn rows_have_an_id_and_a_field_places_do_not() {
        let r = Entity::Plugin {
            id: "p1".into(),
            name: Some("http-log".into()),
            scope: None,
            field: Some("config.headers.X".into()),
        };
        assert_eq!((r.id(), r.field()), (Some("p1"), Some("config.headers.X")));
        let d = Entity::File {
            file: "k.yaml".into(),
            yaml_path: "plugins[0]".into(),
            line: 3,
        };
        assert_eq!((d.id(), d.field()), (None, None));
    }
}
