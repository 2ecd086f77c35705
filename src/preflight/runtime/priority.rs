//! `regex_priority` arithmetic: Kong 3.4.2's 32-bit route priorities against 2.8's route order,
//! and the orderings of regex routes that it breaks. Pure functions over [`RouteRow`]s; it must
//! not judge regex syntax (that is [`super::regex_compat`]).
//!
//! # `regex_priority` in 3.4.2
//!
//! `compat.lua` `get_priority` builds a 64-bit priority, but its helper `lshift_uint64` assigns
//! the Lua number to the upvalue instead of a `uint64_t` cdata, so `bit.lshift` works on 32 bits:
//! `match_weight << 61` is `<< 29`, `headers_count << 52` is `<< 20`, `regex_priority << 19`
//! wraps modulo 2^32. The pieces are OR-ed, so they overlap. Run with the LuaJIT Kong 3.4.2
//! bundles (OpenResty luajit2 v2.1-20220411) on the real `compat.lua`:
//! - `regex_priority` 1024 gives the same priority as 0 on a paths-only route (bit 29 is the
//!   match-weight bit), 2 the same as 0 on a route with one header, 8192 the same as 0;
//! - a negative value, or one with bit 12 set (4096..8191, …), makes a negative 32-bit number,
//!   which `bit.bor` with a `uint64_t` turns into a priority ≥ 2^63 (the piece becomes exactly
//!   2^63 in the interpreter, and is sign-extended once the JIT has compiled the function), i.e.
//!   above every route without such an overflow.
//!
//! Kong 2.8.5 (`kong/router.lua` `sort_routes`) orders routes of the same category, sub-weight and
//! header count by `regex_priority` (higher first), and categories by match weight.
//! [`priority_findings_for`] (through [`super::route_hazards`]) reports the orderings 3.4.2 provably breaks: a route with a higher
//! `regex_priority` that no longer comes before the routes it came before (same matching fields),
//! and a route pushed above routes with more matching fields or with a higher `regex_priority`.
//! Whether that changes where a request goes depends on the requests (both routes must match);
//! the finding says so.
//!
//! # Cost
//!
//! The check is O(n log n) in the number of routes. Only routes with the same matching fields
//! ([`Group`]) are compared, and within a group each question ("which routes with a higher
//! `regex_priority`", "which routes with a lower one and a priority at least as high") is answered
//! by one sweep in sorted order over a [`BTreeSet`] or a Fenwick tree, not by comparing every
//! pair. Routes that share an id are told apart by id as before; that costs extra only for
//! duplicated ids, which a database (primary key) and Kong (unique names) do not have.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::preflight::{Finding, Severity};

use super::RouteRow;

pub const RULE_REGEX_PRIORITY_OVERFLOW: &str = "route-regex-priority-overflow";
pub const RULE_REGEX_PRIORITY_ORDER: &str = "route-regex-priority-order";

const SRC_PRIORITY: &str = "kong/router/compat.lua get_priority/lshift_uint64 at 3.4.2, run with \
     OpenResty luajit2 v2.1-20220411; kong/router.lua sort_routes/sort_categories at 2.8.5; \
     atc-router 1.2.0 src/router.rs (highest priority first, then highest id)";
const FIX_PRIORITY_TRADITIONAL: &str = "Or run Kong 3.4 with `router_flavor = traditional` in kong.conf (2.8's route ordering) until the priorities are changed.";

/// How many routes a finding names; the rest are counted.
const EXAMPLES: usize = 3;

/// The 3.4.2 priority of a route's regex part: `Exact(u64)`, or `Top` when a 32-bit piece went
/// negative and the value is ≥ 2^63 (its exact value depends on the JIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Priority34 {
    Exact(u64),
    Top,
}

/// `bit.lshift` on a Lua number: to int32 (modulo 2^32), shift by `n & 31`, as int32.
fn lshift32(v: i64, n: u32) -> i32 {
    ((v as i32) as u32).wrapping_shl(n & 31) as i32
}

fn nonempty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

fn header_count(h: &Option<Value>) -> usize {
    match h {
        Some(Value::Object(m)) => m.len().min(255),
        _ => 0,
    }
}

/// What both routers compare before `regex_priority`: which fields match, the header count,
/// plain-hosts-only and (2.8) wildcard-host-with-port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Group {
    paths: bool,
    methods: bool,
    hosts: bool,
    headers: usize,
    snis: bool,
    plain_host_only: bool,
    wildcard_host_port: bool,
}

impl Group {
    fn of(r: &RouteRow) -> Group {
        let hosts = r.hosts.as_deref().unwrap_or(&[]);
        let wildcard_host_port = hosts.iter().any(|h| {
            h.contains('*')
                && h.rsplit_once(':')
                    .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        Group {
            paths: nonempty(&r.paths),
            methods: nonempty(&r.methods),
            hosts: nonempty(&r.hosts),
            headers: header_count(&r.headers),
            snis: nonempty(&r.snis),
            // `type(hosts) == "table"` and no `*`: an empty array counts, NULL does not.
            plain_host_only: r.hosts.is_some() && !hosts.iter().any(|h| h.contains('*')),
            wildcard_host_port,
        }
    }

    /// The number of matching fields, 0 to 5.
    fn match_weight(&self) -> i64 {
        i64::from(self.paths)
            + i64::from(self.methods)
            + i64::from(self.hosts)
            + i64::from(self.headers > 0)
            + i64::from(self.snis)
    }
}

/// `compat.lua` `get_priority` for the regex split of a route.
fn priority_34(group: &Group, regex_priority: i64) -> Priority34 {
    let mw = lshift32(group.match_weight(), 61);
    let hc = lshift32(group.headers as i64, 52);
    let rp = lshift32(regex_priority, 19);
    if mw < 0 || hc < 0 || rp < 0 {
        return Priority34::Top;
    }
    let low = (mw | hc | rp) as u32 as u64;
    let plain = if group.plain_host_only { 1u64 << 60 } else { 0 };
    Priority34::Exact((1u64 << 51) | plain | low)
}

/// What a finding says about a route: all the check keeps of a route besides its [`Group`]
/// and `regex_priority`, so that it holds compact facts, not rows.
#[derive(Debug, Clone)]
struct Named {
    id: String,
    name: Option<String>,
    service_id: Option<String>,
}

impl Named {
    fn of(r: &RouteRow) -> Named {
        Named {
            id: r.id.clone(),
            name: r.name.clone(),
            service_id: r.service_id.clone(),
        }
    }

    /// The route as findings describe it (its other fields do not appear in them).
    fn row(&self) -> RouteRow {
        RouteRow {
            id: self.id.clone(),
            name: self.name.clone(),
            service_id: self.service_id.clone(),
            ..RouteRow::default()
        }
    }
}

struct RegexRoute {
    route: Named,
    group: Group,
    rp: i64,
    prio: Priority34,
}

impl RegexRoute {
    fn id(&self) -> &str {
        &self.route.id
    }
}

/// `id (name, regex_priority n)` of the first routes, and how many more there are.
fn examples(rs: &[RegexRoute], first: &[usize], total: usize) -> String {
    let mut s = first
        .iter()
        .map(|&i| {
            let r = &rs[i];
            match &r.route.name {
                Some(n) => format!("{} ({n}, regex_priority {})", r.route.id, r.rp),
                None => format!("{} (regex_priority {})", r.route.id, r.rp),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if total > EXAMPLES {
        s.push_str(&format!(" and {} more", total - EXAMPLES));
    }
    s
}

/// What the ordering check found for one regex route; indexes point into the regex routes.
enum Verdict {
    /// Its priority overflowed to ≥ 2^63: the first of the routes with the same matching fields
    /// and a higher `regex_priority` (in input order) and their count, and the number of routes
    /// with more matching fields.
    Overflow {
        higher: Vec<usize>,
        higher_count: usize,
        more_fields: usize,
    },
    /// It no longer comes before these routes with the same matching fields and a lower
    /// `regex_priority` (the first of them by `regex_priority`, then input order; their count),
    /// and whether one of them ties with it.
    Order {
        lost: Vec<usize>,
        lost_count: usize,
        tie: bool,
    },
}

/// Counts over positions `0..n`: add at a position, sum a prefix, both O(log n).
struct Fenwick(Vec<usize>);

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick(vec![0; n + 1])
    }

    fn add(&mut self, pos: usize, by: usize) {
        let mut i = pos + 1;
        while i < self.0.len() {
            self.0[i] += by;
            i += i & i.wrapping_neg();
        }
    }

    /// The sum over positions `0..end`.
    fn prefix(&self, end: usize) -> usize {
        let mut i = end;
        let mut s = 0;
        while i > 0 {
            s += self.0[i];
            i -= i & i.wrapping_neg();
        }
        s
    }
}

/// Every route's matching-field count, overall and per id: "routes with more matching fields"
/// of a route are those with a count above its own and at most 3 (4 and 5 overflow as well),
/// minus those sharing its id.
/// Routes whose ids are known to be unique (a primary key) need no per-id counts: a route's own
/// count is never above its own weight.
struct Weights {
    all: [usize; 6],
    by_id: HashMap<String, [usize; 6]>,
    ids_unique: bool,
}

impl Weights {
    fn add(&mut self, r: &RouteRow, group: &Group) {
        let mw = group.match_weight() as usize;
        self.all[mw] += 1;
        if !self.ids_unique {
            self.by_id.entry(r.id.clone()).or_default()[mw] += 1;
        }
    }

    fn more_than(&self, weight: i64, id: &str) -> usize {
        let same_id = self.by_id.get(id);
        (weight + 1..=3)
            .map(|w| w as usize)
            .map(|w| self.all[w] - same_id.map_or(0, |s| s[w]))
            .sum()
    }
}

/// The overflow verdicts of one group (`members`: its regex routes, in input order).
fn overflow_verdicts(
    rs: &[RegexRoute],
    members: &[usize],
    same_id: &HashMap<&str, Vec<usize>>,
    weights: &Weights,
    out: &mut [Option<Verdict>],
) {
    let weight = rs[members[0]].group.match_weight();
    // The weight piece alone overflows (4+ matching fields): not a regex_priority effect.
    if lshift32(weight, 61) < 0 {
        return;
    }
    let (mut tops, mut others): (Vec<usize>, Vec<usize>) = members
        .iter()
        .partition(|&&i| rs[i].prio == Priority34::Top);
    if tops.is_empty() {
        return;
    }
    tops.sort_by_key(|&i| std::cmp::Reverse(rs[i].rp));
    others.sort_by_key(|&i| std::cmp::Reverse(rs[i].rp));
    // Sweep from the highest regex_priority down: `higher` holds, in input order, the routes
    // without overflow whose regex_priority is above the current one.
    let mut higher: BTreeSet<usize> = BTreeSet::new();
    let mut next = 0;
    for &a in &tops {
        while next < others.len() && rs[others[next]].rp > rs[a].rp {
            higher.insert(others[next]);
            next += 1;
        }
        let id = rs[a].id();
        let twins = same_id[id]
            .iter()
            .filter(|&&b| rs[b].prio != Priority34::Top && rs[b].rp > rs[a].rp)
            .count();
        let higher_count = higher.len() - twins;
        let more_fields = weights.more_than(weight, id);
        if higher_count == 0 && more_fields == 0 {
            continue;
        }
        let first = higher
            .iter()
            .copied()
            .filter(|&b| rs[b].id() != id)
            .take(EXAMPLES)
            .collect();
        out[a] = Some(Verdict::Overflow {
            higher: first,
            higher_count,
            more_fields,
        });
    }
}

/// The lost-order verdicts of one group (`members`: its regex routes, in input order): for each
/// route without overflow, the routes with a lower `regex_priority` whose 3.4.2 priority is at
/// least its own.
fn order_verdicts(
    rs: &[RegexRoute],
    members: &[usize],
    same_id: &HashMap<&str, Vec<usize>>,
    out: &mut [Option<Verdict>],
) {
    let exact = |i: usize| match rs[i].prio {
        Priority34::Exact(p) => Some(p),
        Priority34::Top => None,
    };
    let mut queries: Vec<(usize, u64)> = members
        .iter()
        .filter_map(|&i| exact(i).map(|p| (i, p)))
        .collect();
    if queries.is_empty() {
        return;
    }
    // In one group the priority is a function of regex_priority: work on the distinct values.
    let mut values: Vec<i64> = queries.iter().map(|&(i, _)| rs[i].rp).collect();
    values.sort_unstable();
    values.dedup();
    let rank = |rp: i64| values.partition_point(|&v| v < rp);
    let mut at_value: Vec<Vec<usize>> = vec![vec![]; values.len()];
    let mut prio_of: Vec<u64> = vec![0; values.len()];
    for &(i, p) in &queries {
        at_value[rank(rs[i].rp)].push(i);
        prio_of[rank(rs[i].rp)] = p;
    }
    let mut same_prio: HashMap<u64, Vec<usize>> = HashMap::new();
    for (r, &p) in prio_of.iter().enumerate() {
        same_prio.entry(p).or_default().push(r);
    }
    let mut by_prio: Vec<usize> = (0..values.len()).collect();
    by_prio.sort_by_key(|&r| std::cmp::Reverse(prio_of[r]));
    queries.sort_by_key(|&(_, p)| std::cmp::Reverse(p));

    // Sweep from the highest priority down: `reached` and `count` hold the values whose
    // priority is at least the current one.
    let mut reached: BTreeSet<usize> = BTreeSet::new();
    let mut count = Fenwick::new(values.len());
    let mut next = 0;
    for &(a, pa) in &queries {
        while next < by_prio.len() && prio_of[by_prio[next]] >= pa {
            let r = by_prio[next];
            reached.insert(r);
            count.add(r, at_value[r].len());
            next += 1;
        }
        // Values below a's regex_priority.
        let below = rank(rs[a].rp);
        let id = rs[a].id();
        let twins = same_id[id]
            .iter()
            .filter(|&&b| rs[b].rp < rs[a].rp && exact(b).is_some_and(|pb| pb >= pa))
            .count();
        let lost_count = count.prefix(below) - twins;
        if lost_count == 0 {
            continue;
        }
        let lost = reached
            .range(..below)
            .flat_map(|&r| at_value[r].iter().copied())
            .filter(|&b| rs[b].id() != id)
            .take(EXAMPLES)
            .collect();
        let tie = same_prio[&pa]
            .iter()
            .take_while(|&&r| r < below)
            .any(|&r| at_value[r].iter().any(|&b| rs[b].id() != id));
        out[a] = Some(Verdict::Order {
            lost,
            lost_count,
            tie,
        });
    }
}

/// The `regex_priority` ordering check; `is_regex[i]` says whether `routes[i]` has a regex path
/// in 3.x. Findings come in the order of `routes`.
pub(crate) fn priority_findings_for(routes: &[RouteRow], is_regex: &[bool]) -> Vec<Finding> {
    let mut check = PriorityCheck::new(false);
    for (r, is) in routes.iter().zip(is_regex) {
        check.push(r, *is);
    }
    check.findings()
}

/// The `regex_priority` ordering check fed one route at a time (rows read page by page): it
/// keeps, per regex route, its id, name, service, [`Group`] and `regex_priority`, and for the
/// others only a count per matching-field count, never the rows.
pub(crate) struct PriorityCheck {
    rs: Vec<RegexRoute>,
    weights: Weights,
}

impl PriorityCheck {
    /// `ids_unique`: every route pushed has an id no other has (a database's primary key);
    /// otherwise routes sharing an id are told apart as [`priority_findings_for`] does.
    pub(crate) fn new(ids_unique: bool) -> PriorityCheck {
        PriorityCheck {
            rs: vec![],
            weights: Weights {
                all: [0; 6],
                by_id: HashMap::new(),
                ids_unique,
            },
        }
    }

    /// The next route, in the order findings should come in; `is_regex`: whether it has a
    /// regex path in 3.x.
    pub(crate) fn push(&mut self, r: &RouteRow, is_regex: bool) {
        let group = Group::of(r);
        self.weights.add(r, &group);
        if is_regex {
            let rp = r.regex_priority.unwrap_or(0);
            let prio = priority_34(&group, rp);
            self.rs.push(RegexRoute {
                route: Named::of(r),
                group,
                rp,
                prio,
            });
        }
    }

    /// How many regex routes were pushed.
    pub(crate) fn regex_routes(&self) -> usize {
        self.rs.len()
    }

    pub(crate) fn findings(self) -> Vec<Finding> {
        let PriorityCheck { rs, weights } = self;
        let mut groups: HashMap<&Group, Vec<usize>> = HashMap::new();
        for (i, r) in rs.iter().enumerate() {
            groups.entry(&r.group).or_default().push(i);
        }
        let mut verdicts: Vec<Option<Verdict>> = (0..rs.len()).map(|_| None).collect();
        for members in groups.values() {
            let mut same_id: HashMap<&str, Vec<usize>> = HashMap::new();
            for &i in members {
                same_id.entry(rs[i].id()).or_default().push(i);
            }
            overflow_verdicts(&rs, members, &same_id, &weights, &mut verdicts);
            order_verdicts(&rs, members, &same_id, &mut verdicts);
        }
        rs.iter()
            .zip(verdicts)
            .filter_map(|(a, v)| Some(finding(&rs, a, v?)))
            .collect()
    }
}

fn finding(rs: &[RegexRoute], a: &RegexRoute, v: Verdict) -> Finding {
    match v {
        Verdict::Overflow {
            higher,
            higher_count,
            more_fields,
        } => {
            let mut parts = vec![];
            if higher_count > 0 {
                parts.push(format!(
                    "{higher_count} route(s) with the same matching fields and a higher \
                     regex_priority that 2.8 tried first: {}",
                    examples(rs, &higher, higher_count)
                ));
            }
            if more_fields > 0 {
                parts.push(format!(
                    "{more_fields} route(s) with more matching fields (hosts, methods, headers, \
                     snis), which 2.8 always tried first"
                ));
            }
            a.route.row().finding(
                RULE_REGEX_PRIORITY_OVERFLOW,
                Severity::Warning,
                Some("regex_priority".to_string()),
                format!(
                    "{}: Kong 3.4.2 computes route priorities in 32-bit arithmetic \
                     (compat.lua lshift_uint64), and regex_priority {} shifted by 19 bits turns \
                     negative, which gives this route a priority of 2^63 or more: 3.4 tries it \
                     before every route without that overflow, among them {}. Requests that \
                     match both now go to this route.",
                    a.route.row().label(),
                    a.rp,
                    parts.join("; and ")
                ),
                vec![
                    "Give this route a regex_priority between 0 and 4095 that keeps the intended \
                     order (values 1024-2047 and 3072-4095 also collide with the match-weight \
                     bits; smaller is safer), and re-check the order of all regex routes."
                        .to_string(),
                    FIX_PRIORITY_TRADITIONAL.to_string(),
                ],
                SRC_PRIORITY,
            )
        }
        Verdict::Order {
            lost,
            lost_count,
            tie,
        } => a.route.row().finding(
            RULE_REGEX_PRIORITY_ORDER,
            Severity::Warning,
            Some("regex_priority".to_string()),
            format!(
                "{}: in 2.8 its regex_priority {} put it before {} route(s) with the same \
                 matching fields and a lower regex_priority ({}). Kong 3.4.2 computes priorities \
                 in 32-bit arithmetic (compat.lua lshift_uint64), where regex_priority {} \
                 overlaps other bits and {}; requests that match both can now go to the other \
                 route.",
                a.route.row().label(),
                a.rp,
                lost_count,
                examples(rs, &lost, lost_count),
                a.rp,
                if tie {
                    "ties with theirs, so the route id decides (highest first)"
                } else {
                    "ends up lower than theirs"
                }
            ),
            vec![
                "Choose regex_priority values below 1024 (on routes with headers, spaced so that \
                 `regex_priority << 19` does not overlap `header_count << 20`) that keep the \
                 intended order, and re-check the order of all regex routes."
                    .to_string(),
                FIX_PRIORITY_TRADITIONAL.to_string(),
            ],
            SRC_PRIORITY,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::route_hazards;
    use super::super::test_support::{kinds, route};
    use super::*;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    #[test]
    fn lshift_matches_luajit() {
        // Values printed by the real compat.lua get_priority under luajit2 v2.1-20220411.
        let paths_only = Group::of(&route("x", &["~/a"]));
        assert_eq!(
            priority_34(&paths_only, 0),
            Priority34::Exact(2251800350556160)
        );
        assert_eq!(
            priority_34(&paths_only, 1),
            Priority34::Exact(2251800351080448)
        );
        assert_eq!(
            priority_34(&paths_only, 100),
            Priority34::Exact(2251800402984960)
        );
        assert_eq!(
            priority_34(&paths_only, 1024),
            Priority34::Exact(2251800350556160)
        );
        assert_eq!(priority_34(&paths_only, 4096), Priority34::Top);
        assert_eq!(priority_34(&paths_only, -1), Priority34::Top);
        let mut h = route("x", &["~/a"]);
        h.headers = Some(json!({"x": ["1"]}));
        let g = Group::of(&h);
        assert_eq!(priority_34(&g, 0), Priority34::Exact(2251800888475648));
        assert_eq!(priority_34(&g, 2), Priority34::Exact(2251800888475648));
    }

    #[test]
    fn regex_priority_collisions_are_reported() {
        let mut hi = route("hi", &[r"/api/\d+"]);
        hi.regex_priority = Some(1024);
        let lo = route("lo", &[r"/api/.*"]);
        let f = route_hazards(&[hi.clone(), lo.clone()]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_ORDER]);
        assert_eq!(f[0].entity.id(), Some("hi"));
        assert!(f[0].message.contains("ties"), "{}", f[0].message);

        // 10 vs 0 keeps its order.
        hi.regex_priority = Some(10);
        assert!(route_hazards(&[hi.clone(), lo.clone()]).is_empty());

        // A negative regex_priority jumps above everything.
        let mut neg = route("neg", &[r"/.*"]);
        neg.regex_priority = Some(-1);
        let f = route_hazards(&[hi.clone(), neg.clone()]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_OVERFLOW]);
        assert_eq!(f[0].entity.id(), Some("neg"));
        assert!(
            f[0].message.contains("hi (r-hi, regex_priority 10)"),
            "{}",
            f[0].message
        );

        // … also above a prefix route with more matching fields.
        let mut host = route("host", &["/plain"]);
        host.hosts = Some(vec!["api.example.com".to_string()]);
        let f = route_hazards(&[neg.clone(), host]);
        assert_eq!(kinds(&f), vec![RULE_REGEX_PRIORITY_OVERFLOW]);
        assert!(f[0].message.contains("more matching fields"));

        // A hosts-only route (no paths) has as many matching fields as `neg`: not counted.
        let mut hosts_only = route("hosts-only", &[]);
        hosts_only.paths = None;
        hosts_only.hosts = Some(vec!["api.example.com".to_string()]);
        assert!(route_hazards(&[neg.clone(), hosts_only]).is_empty());

        // Alone, nothing changes order.
        assert!(route_hazards(&[neg]).is_empty());
    }

    /// The check as it was first written: every regex route against every route, O(n²). The
    /// reference for [`priority_findings_for`].
    fn quadratic_reference(routes: &[RouteRow], is_regex: &[bool]) -> Vec<Finding> {
        fn examples_of(rs: &[&RegexRoute]) -> String {
            let mut s = rs
                .iter()
                .take(3)
                .map(|r| match &r.route.name {
                    Some(n) => format!("{} ({n}, regex_priority {})", r.route.id, r.rp),
                    None => format!("{} (regex_priority {})", r.route.id, r.rp),
                })
                .collect::<Vec<_>>()
                .join(", ");
            if rs.len() > 3 {
                s.push_str(&format!(" and {} more", rs.len() - 3));
            }
            s
        }
        let regex_routes: Vec<RegexRoute> = routes
            .iter()
            .zip(is_regex)
            .filter(|(_, is)| **is)
            .map(|(r, _)| {
                let group = Group::of(r);
                let rp = r.regex_priority.unwrap_or(0);
                let prio = priority_34(&group, rp);
                RegexRoute {
                    route: Named::of(r),
                    group,
                    rp,
                    prio,
                }
            })
            .collect();
        let weights: Vec<(i64, &RouteRow)> = routes
            .iter()
            .map(|r| (Group::of(r).match_weight(), r))
            .collect();
        let mut out = vec![];
        for a in &regex_routes {
            let same_group: Vec<&RegexRoute> = regex_routes
                .iter()
                .filter(|b| b.group == a.group && b.route.id != a.route.id)
                .collect();
            let weight_overflow = lshift32(a.group.match_weight(), 61) < 0;
            if a.prio == Priority34::Top && !weight_overflow {
                let higher_rp: Vec<&RegexRoute> = same_group
                    .iter()
                    .copied()
                    .filter(|b| b.rp > a.rp && b.prio != Priority34::Top)
                    .collect();
                let more_fields = weights
                    .iter()
                    .filter(|(w, r)| *w > a.group.match_weight() && *w <= 3 && r.id != a.route.id)
                    .count();
                if higher_rp.is_empty() && more_fields == 0 {
                    continue;
                }
                let mut parts = vec![];
                if !higher_rp.is_empty() {
                    parts.push(format!(
                        "{} route(s) with the same matching fields and a higher regex_priority \
                         that 2.8 tried first: {}",
                        higher_rp.len(),
                        examples_of(&higher_rp)
                    ));
                }
                if more_fields > 0 {
                    parts.push(format!(
                        "{more_fields} route(s) with more matching fields (hosts, methods, \
                         headers, snis), which 2.8 always tried first"
                    ));
                }
                out.push(finding_like(
                    a,
                    RULE_REGEX_PRIORITY_OVERFLOW,
                    parts.join("; and "),
                ));
                continue;
            }
            let Priority34::Exact(pa) = a.prio else {
                continue;
            };
            let mut lost: std::collections::BTreeMap<i64, Vec<&RegexRoute>> = Default::default();
            for b in &same_group {
                if let Priority34::Exact(pb) = b.prio {
                    if a.rp > b.rp && pa <= pb {
                        lost.entry(b.rp).or_default().push(b);
                    }
                }
            }
            if lost.is_empty() {
                continue;
            }
            let all: Vec<&RegexRoute> = lost.values().flatten().copied().collect();
            let tie = all
                .iter()
                .any(|b| matches!(b.prio, Priority34::Exact(pb) if pb == pa));
            out.push(finding_like(
                a,
                RULE_REGEX_PRIORITY_ORDER,
                format!("{}|{}|{tie}", all.len(), examples_of(&all)),
            ));
        }
        out
    }

    /// The reference's finding, built through the real message code so that any difference in
    /// what was found shows up as a different message.
    fn finding_like(a: &RegexRoute, kind: &'static str, detail: String) -> Finding {
        a.route.row().finding(
            kind,
            Severity::Warning,
            Some("regex_priority".to_string()),
            detail,
            vec![],
            "",
        )
    }

    /// The new implementation's findings reduced to what the reference builds.
    fn reduced(f: Vec<Finding>) -> Vec<Finding> {
        f.into_iter()
            .map(|mut f| {
                let m = &f.message;
                f.message = if f.kind == RULE_REGEX_PRIORITY_OVERFLOW {
                    let from = m.find("among them ").unwrap() + "among them ".len();
                    let to = m.rfind(". Requests that match both").unwrap();
                    m[from..to].to_string()
                } else {
                    let count = m
                        .split("put it before ")
                        .nth(1)
                        .and_then(|s| s.split(' ').next())
                        .unwrap()
                        .to_string();
                    let from =
                        m.find("lower regex_priority (").unwrap() + "lower regex_priority (".len();
                    let to = m.find("). Kong 3.4.2").unwrap();
                    let tie = m.contains("ties with theirs");
                    format!("{count}|{}|{tie}", &m[from..to])
                };
                f.fixes = vec![];
                f.source = String::new();
                f
            })
            .collect()
    }

    const INTERESTING_RP: &[i64] = &[
        -1, 0, 0, 0, 1, 1, 2, 3, 10, 100, 1023, 1024, 1025, 2048, 3072, 4095, 4096, 8191, 8192,
        8193, 65536, -4096,
    ];

    fn random_routes(rng: &mut impl Rng, n: usize) -> (Vec<RouteRow>, Vec<bool>) {
        let mut routes: Vec<RouteRow> = Vec::with_capacity(n);
        let mut is_regex = Vec::with_capacity(n);
        for i in 0..n {
            // Now and then an id that an earlier route has: the check tells routes apart by id.
            let id = if i > 0 && rng.gen_bool(0.05) {
                routes[rng.gen_range(0..i)].id.clone()
            } else {
                format!("r{i:04}")
            };
            let pick = |rng: &mut _, p: f64| rand::Rng::gen_bool(rng, p);
            let headers = match rng.gen_range(0..10) {
                0 => Some(json!({"x-a": ["1"]})),
                1 => Some(json!({"x-a": ["1"], "x-b": ["2"]})),
                2 => Some(json!([])),
                _ => None,
            };
            let hosts = match rng.gen_range(0..10) {
                0 => Some(vec!["api.example.com".to_string()]),
                1 => Some(vec!["*.example.com:8443".to_string()]),
                2 => Some(vec![]),
                _ => None,
            };
            let rp = if pick(rng, 0.7) {
                INTERESTING_RP[rng.gen_range(0..INTERESTING_RP.len())]
            } else {
                rng.gen_range(-10_000..10_000)
            };
            routes.push(RouteRow {
                id,
                name: pick(rng, 0.6).then(|| format!("n{i}")),
                service_id: Some("svc".to_string()),
                paths: match rng.gen_range(0..10) {
                    0 => None,
                    1 => Some(vec![]),
                    _ => Some(vec!["~/p".to_string()]),
                },
                path_handling: None,
                regex_priority: pick(rng, 0.9).then_some(rp),
                hosts,
                methods: pick(rng, 0.15).then(|| vec!["GET".to_string()]),
                headers,
                snis: pick(rng, 0.05).then(|| vec!["a.example.com".to_string()]),
            });
            is_regex.push(pick(rng, 0.8));
        }
        (routes, is_regex)
    }

    #[test]
    fn sweep_finds_exactly_what_the_quadratic_check_finds() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed_2024);
        let mut found = 0;
        for round in 0..30 {
            let n = rng.gen_range(1..400);
            let (routes, is_regex) = random_routes(&mut rng, n);
            let want = quadratic_reference(&routes, &is_regex);
            let got = reduced(priority_findings_for(&routes, &is_regex));
            assert_eq!(got, want, "round {round}, {n} routes");
            found += want.len();
        }
        // The inputs do exercise both findings.
        assert!(found > 100, "{found}");
    }

    /// Routes with unique ids (a database's primary key) need no per-id counts: the check fed
    /// one route at a time without them finds exactly what the slice check finds.
    #[test]
    fn unique_ids_stream_to_the_same_findings() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x0b1d);
        for round in 0..20 {
            let n = rng.gen_range(1..400);
            let (mut routes, is_regex) = random_routes(&mut rng, n);
            for (i, r) in routes.iter_mut().enumerate() {
                r.id = format!("u{i:04}");
            }
            let mut check = PriorityCheck::new(true);
            for (r, is) in routes.iter().zip(&is_regex) {
                check.push(r, *is);
            }
            assert_eq!(
                check.findings(),
                priority_findings_for(&routes, &is_regex),
                "round {round}"
            );
        }
    }

    #[test]
    fn fifty_thousand_routes_finish() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(50_000);
        let routes: Vec<RouteRow> = (0..50_000)
            .map(|i| RouteRow {
                id: format!("r{i:05}"),
                paths: Some(vec![format!("~/api/{i}/\\d+")]),
                regex_priority: Some(INTERESTING_RP[rng.gen_range(0..INTERESTING_RP.len())]),
                hosts: (i % 7 == 0).then(|| vec!["api.example.com".to_string()]),
                ..RouteRow::default()
            })
            .collect();
        let is_regex = vec![true; routes.len()];
        let f = priority_findings_for(&routes, &is_regex);
        assert!(!f.is_empty());
    }
}
